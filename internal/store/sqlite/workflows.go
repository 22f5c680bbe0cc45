package sqlite

import (
	"context"
	"database/sql"
	"errors"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sluicehq/sluice/internal/workflow"
)

// WorkflowPut implements workflow.Store.
func (s *Store) WorkflowPut(ctx context.Context, p *workflow.WorkflowPutParams) (*workflow.WorkflowVersion, bool, error) {
	if p.ID == "" || p.Hash == "" || len(p.Definition) == 0 {
		return nil, false, wrapErr("put workflow", workflow.Invalid("invalid workflow",
			workflow.FieldError{Path: "/id", Message: "id, hash and definition are required"}))
	}
	now := micros(p.Now)
	var (
		out     *workflow.WorkflowVersion
		created bool
	)
	err := s.write(ctx, "put workflow", func(w *wtx) error {
		out, created = nil, false
		var (
			latest  int
			enabled bool
			hash    string
		)
		err := w.queryRow(`SELECT w.latest_version, w.enabled, v.hash FROM workflows w
			JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.latest_version
			WHERE w.id = ?`, p.ID).Scan(&latest, &enabled, &hash)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case hash == p.Hash:
			if !enabled {
				if err := checkTrigger(w, p.ID, p.TriggerKey); err != nil {
					return err
				}
				if _, err := w.exec(`UPDATE workflows SET enabled = TRUE, updated_at = ? WHERE id = ?`,
					now, p.ID); err != nil {
					return triggerConflict(err, p.TriggerKey)
				}
			}
			out, err = scanVersion(w.queryRow(`SELECT `+versionColumns+` FROM workflow_versions v
				JOIN workflows w ON w.id = v.workflow_id WHERE v.workflow_id = ? AND v.version = ?`, p.ID, latest))
			return err
		}

		if err := checkTrigger(w, p.ID, p.TriggerKey); err != nil {
			return err
		}
		version := latest + 1
		if _, err := w.exec(`INSERT INTO workflows (id, name, latest_version, trigger_type, trigger_key,
			enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, TRUE, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, latest_version = excluded.latest_version,
			trigger_type = excluded.trigger_type, trigger_key = excluded.trigger_key, enabled = TRUE,
			updated_at = excluded.updated_at`,
			p.ID, p.Name, version, p.TriggerType, p.TriggerKey, now, now); err != nil {
			return triggerConflict(err, p.TriggerKey)
		}
		if _, err := w.exec(`INSERT INTO workflow_versions (workflow_id, version, name, trigger_type,
			trigger_key, definition, hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, version, p.Name, p.TriggerType, p.TriggerKey, string(p.Definition), p.Hash, now); err != nil {
			return err
		}
		out = &workflow.WorkflowVersion{
			WorkflowID: p.ID, Version: version, Name: p.Name, TriggerType: p.TriggerType,
			TriggerKey: p.TriggerKey, Definition: cloneJSON(p.Definition), Hash: p.Hash,
			Enabled: true, LatestVersion: version, CreatedAt: fromMicros(now),
		}
		created = true
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return out, created, nil
}

// checkTrigger fails with ECONFLICT if another enabled workflow uses key.
func checkTrigger(w *wtx, id, key string) error {
	if key == "" {
		return nil
	}
	var other string
	err := w.queryRow(`SELECT id FROM workflows WHERE trigger_key = ? AND enabled AND id <> ?`, key, id).Scan(&other)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	return workflow.Errorf(workflow.ECONFLICT, "trigger key %q is used by workflow %s", key, other)
}

// triggerConflict names the trigger key in a unique violation of
// workflows_trigger_key (the backstop of checkTrigger).
func triggerConflict(err error, key string) error {
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) {
		return workflow.Errorf(workflow.ECONFLICT, "trigger key %q is used by another workflow", key)
	}
	return err
}

// WorkflowGet implements workflow.Store.
func (s *Store) WorkflowGet(ctx context.Context, p *workflow.WorkflowGetParams) (*workflow.WorkflowVersion, error) {
	v, err := scanVersion(s.rdb.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM workflow_versions v
		JOIN workflows w ON w.id = v.workflow_id
		WHERE v.workflow_id = ? AND v.version = CASE WHEN ? > 0 THEN ? ELSE w.latest_version END`,
		p.ID, p.Version, p.Version))
	if errors.Is(err, sql.ErrNoRows) {
		if p.Version > 0 {
			return nil, wrapErr("get workflow", workflow.Errorf(workflow.ENOTFOUND,
				"workflow %s version %d not found", p.ID, p.Version))
		}
		return nil, wrapErr("get workflow", workflow.Errorf(workflow.ENOTFOUND, "workflow %s not found", p.ID))
	}
	return v, wrapErr("get workflow", err)
}

// WorkflowGetByTrigger implements workflow.Store.
func (s *Store) WorkflowGetByTrigger(ctx context.Context, triggerKey string) (*workflow.WorkflowVersion, error) {
	v, err := scanVersion(s.rdb.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM workflows w
		JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.latest_version
		WHERE w.trigger_key = ? AND w.enabled AND w.trigger_key <> ''`, triggerKey))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, wrapErr("get workflow by trigger", workflow.Errorf(workflow.ENOTFOUND,
			"no enabled workflow has trigger key %q", triggerKey))
	}
	return v, wrapErr("get workflow by trigger", err)
}

// WorkflowList implements workflow.Store.
func (s *Store) WorkflowList(ctx context.Context) ([]*workflow.WorkflowVersion, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+versionColumns+` FROM workflows w
		JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.latest_version
		ORDER BY w.id`)
	if err != nil {
		return nil, wrapErr("list workflows", err)
	}
	out, err := collect(rows, scanVersion)
	return out, wrapErr("list workflows", err)
}

// WorkflowDisable implements workflow.Store.
func (s *Store) WorkflowDisable(ctx context.Context, p *workflow.WorkflowDisableParams) error {
	return s.write(ctx, "disable workflow", func(w *wtx) error {
		res, err := w.exec(`UPDATE workflows SET enabled = FALSE, updated_at = ? WHERE id = ?`,
			micros(p.Now), p.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return workflow.Errorf(workflow.ENOTFOUND, "workflow %s not found", p.ID)
		}
		return nil
	})
}

// collect scans every row and closes rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
