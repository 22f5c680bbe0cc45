package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/internal/workflow"
)

// RunStart implements workflow.Store. Concurrent starts with the same key are
// serialized by the writer goroutine, and the partial unique index on
// (trigger_key, idempotency_key) backs that up.
func (s *Store) RunStart(ctx context.Context, p *workflow.RunStartParams) (*workflow.Run, bool, error) {
	if p.ID == "" || p.WorkflowID == "" {
		return nil, false, wrapErr("start run", workflow.Invalid("invalid run",
			workflow.FieldError{Path: "/id", Message: "run id and workflow id are required"}))
	}
	now := truncate(p.Now)
	var (
		run      *workflow.Run
		existing bool
	)
	err := s.write(ctx, "start run", func(w *wtx) error {
		// A batch may run an op twice (see commitBatch): set every output.
		run, existing = nil, false
		res, err := w.stmt(stInsertRun).ExecContext(w.ctx, p.ID, p.WorkflowID, p.WorkflowVersion,
			p.StartStepID, jsonArg(p.Input), p.TriggerKey, p.IdempotencyKey, p.RequestHash,
			micros(now), micros(now), micros(now))
		switch {
		case isConstraint(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY):
			return workflow.Errorf(workflow.ENOTFOUND, "workflow %s version %d not found",
				p.WorkflowID, p.WorkflowVersion)
		case isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY):
			return workflow.Errorf(workflow.ECONFLICT, "run %s already exists", p.ID)
		case err != nil:
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 1 {
			due := now
			run = &workflow.Run{
				ID: p.ID, WorkflowID: p.WorkflowID, WorkflowVersion: p.WorkflowVersion,
				Status: workflow.RunPending, CurrentStepID: p.StartStepID, Attempt: 1,
				Input: cloneJSON(p.Input), Steps: []byte("{}"), TriggerKey: p.TriggerKey,
				IdempotencyKey: p.IdempotencyKey, RequestHash: p.RequestHash, DueAt: &due,
				CreatedAt: now, UpdatedAt: now,
			}
			return nil
		}
		r, err := scanRun(w.stmt(stRunByKey).QueryRowContext(w.ctx, p.TriggerKey, p.IdempotencyKey))
		if err != nil {
			return err
		}
		if r.RequestHash != p.RequestHash {
			return workflow.Errorf(workflow.EIDEMPOTENCY,
				"idempotency key %q was used for a different request (run %s)", p.IdempotencyKey, r.ID)
		}
		run, existing = r, true
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return run, existing, nil
}

// RunGet implements workflow.Store.
func (s *Store) RunGet(ctx context.Context, id string) (*workflow.Run, error) {
	st, err := s.readStmt(ctx, rsRunGet)
	if err != nil {
		return nil, err
	}
	r, err := scanRun(st.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, wrapErr("get run", workflow.Errorf(workflow.ENOTFOUND, "run %s not found", id))
	}
	return r, wrapErr("get run", err)
}

// RunList implements workflow.Store. The cursor is the last id of the
// previous page; ids are UUIDv7, so "newest first" is "id descending".
func (s *Store) RunList(ctx context.Context, p *workflow.RunListParams) (*workflow.RunPage, error) {
	limit, err := store.PageLimit(p.Limit)
	if err != nil {
		return nil, wrapErr("list runs", err)
	}
	after, err := store.DecodeCursor(p.Cursor)
	if err != nil {
		return nil, wrapErr("list runs", err)
	}
	if p.Status != "" && !p.Status.Valid() {
		return nil, wrapErr("list runs", workflow.Invalid("invalid run filter",
			workflow.FieldError{Path: "/status", Message: "unknown run status " + string(p.Status)}))
	}
	var (
		where []string
		args  []any
	)
	if p.WorkflowID != "" {
		where, args = append(where, "workflow_id = ?"), append(args, p.WorkflowID)
	}
	if p.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(p.Status))
	}
	if after != "" {
		where, args = append(where, "id < ?"), append(args, after)
	}
	q := `SELECT ` + runColumns + ` FROM runs`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id DESC LIMIT ?`
	rows, err := s.rdb.QueryContext(ctx, q, append(args, limit+1)...)
	if err != nil {
		return nil, wrapErr("list runs", err)
	}
	runs, err := collect(rows, scanRun)
	if err != nil {
		return nil, wrapErr("list runs", err)
	}
	page := &workflow.RunPage{Runs: runs}
	if len(runs) > limit {
		page.Runs = runs[:limit]
		page.NextCursor = store.EncodeCursor(runs[limit-1].ID)
	}
	return page, nil
}

// RunNextDue implements workflow.Store.
func (s *Store) RunNextDue(ctx context.Context) (time.Time, bool, error) {
	st, err := s.readStmt(ctx, rsNextDue)
	if err != nil {
		return time.Time{}, false, err
	}
	var due sql.NullInt64
	if err := st.QueryRowContext(ctx).Scan(&due); err != nil {
		return time.Time{}, false, wrapErr("next due run", err)
	}
	if !due.Valid {
		return time.Time{}, false, nil
	}
	return fromMicros(due.Int64), true, nil
}

// claimCandidate is a due run as it was before the claim.
type claimCandidate struct {
	id, status, owner, stepID string
	attempt, generation       int
	updatedAt                 int64
}

// RunClaim implements workflow.Store. The interrupted step execution of a
// run whose lease expired covers the lost attempt from the run's last update
// (claim or checkpoint) to Now; its StepType is unknown here and left empty.
func (s *Store) RunClaim(ctx context.Context, p *workflow.RunClaimParams) ([]*workflow.Run, error) {
	if p.Owner == "" || p.Limit < 1 || p.LeaseFor <= 0 {
		return nil, wrapErr("claim runs", workflow.Invalid("invalid claim",
			workflow.FieldError{Path: "/owner", Message: "owner, a positive limit and a positive lease are required"}))
	}
	newExecID := p.NewExecutionID
	if newExecID == nil {
		newExecID = newID
	}
	now := micros(p.Now)
	until := micros(p.Now.Add(p.LeaseFor))
	var claimed []*workflow.Run
	err := s.write(ctx, "claim runs", func(w *wtx) error {
		claimed = claimed[:0]
		rows, err := w.stmt(stClaimSelect).QueryContext(w.ctx, now, p.Limit)
		if err != nil {
			return err
		}
		var due []claimCandidate
		for rows.Next() {
			var c claimCandidate
			if err := rows.Scan(&c.id, &c.status, &c.owner, &c.stepID, &c.attempt, &c.generation, &c.updatedAt); err != nil {
				rows.Close()
				return err
			}
			due = append(due, c)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, c := range due {
			r, err := scanRun(w.stmt(stClaimUpdate).QueryRowContext(w.ctx, p.Owner, until, now, now, c.id))
			if err != nil {
				return err
			}
			if c.status == string(workflow.RunRunning) {
				if err := insertExecution(w, &workflow.StepExecution{
					ID: newExecID(), RunID: c.id, Generation: c.generation, StepID: c.stepID,
					Attempt: c.attempt, Status: workflow.StepInterrupted,
					IdempotencyKey: workflow.StepIdempotencyKey(c.id, c.generation, c.stepID),
					Error:          "lease of " + c.owner + " expired before the step was checkpointed; the step runs again",
					StartedAt:      fromMicros(c.updatedAt), FinishedAt: fromMicros(now),
				}); err != nil {
					return err
				}
			}
			claimed = append(claimed, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return claimed, nil
}

// RunCheckpoint implements workflow.Store. A nil Steps keeps the run's step
// outputs; for status running a zero LeaseUntil keeps the lease expiry, for
// pending and waiting a zero NextRunAt means Now. Only a running run can be
// checkpointed: once its holder parked or finished it, the token is stale too.
// Execution, outbox and dead letter rows without a RunID get p.RunID, rows
// without a CreatedAt get Now, rows without an ID get a UUIDv7.
func (s *Store) RunCheckpoint(ctx context.Context, p *workflow.RunCheckpointParams) error {
	now := micros(p.Now)
	var due, finished any
	switch p.Status {
	case workflow.RunRunning:
		due = nullMicros(p.LeaseUntil) // NULL keeps the current lease expiry
	case workflow.RunPending, workflow.RunWaiting:
		due = micros(p.NextRunAt)
		if p.NextRunAt.IsZero() {
			due = now
		}
	case workflow.RunCompleted, workflow.RunDeadLettered:
		finished = now
	default:
		return wrapErr("checkpoint run", workflow.Invalid("invalid checkpoint", workflow.FieldError{
			Path: "/status", Message: "must be running, pending, waiting, completed or dead_lettered"}))
	}
	return s.write(ctx, "checkpoint run", func(w *wtx) error {
		var (
			res sql.Result
			err error
		)
		if p.Status == workflow.RunRunning {
			res, err = w.stmt(stCheckpointRunning).ExecContext(w.ctx, p.CurrentStepID, p.Attempt,
				jsonArg(p.Steps), jsonArg(p.Output), p.Error, due, now, p.RunID, p.LeaseToken)
		} else {
			res, err = w.stmt(stCheckpoint).ExecContext(w.ctx, string(p.Status), p.CurrentStepID, p.Attempt,
				jsonArg(p.Steps), jsonArg(p.Output), p.Error, due, finished, now, p.RunID, p.LeaseToken)
		}
		if err != nil {
			return err
		}
		if err := fenced(w, res, p.RunID, p.LeaseToken); err != nil {
			return err
		}
		if e := p.Execution; e != nil {
			if err := insertExecution(w, withRunID(e, p.RunID)); err != nil {
				return err
			}
		}
		for _, m := range p.Outbox {
			if err := insertOutbox(w, m, p.RunID, p.Now); err != nil {
				return err
			}
		}
		if d := p.DeadLetter; d != nil {
			if err := insertDeadLetter(w, d, p.RunID, p.Now); err != nil {
				return err
			}
		}
		return nil
	})
}

// fenced returns nil if res updated the run, else ENOTFOUND for an unknown
// run or ELEASELOST for a stale token (or a run no longer running).
func fenced(w *wtx, res sql.Result, runID string, token int64) error {
	n, err := res.RowsAffected()
	if err != nil || n == 1 {
		return err
	}
	var (
		status  string
		current int64
	)
	err = w.stmt(stLeaseState).QueryRowContext(w.ctx, runID).Scan(&status, &current)
	if errors.Is(err, sql.ErrNoRows) {
		return workflow.Errorf(workflow.ENOTFOUND, "run %s not found", runID)
	} else if err != nil {
		return err
	}
	return workflow.Errorf(workflow.ELEASELOST,
		"lease %d of run %s is lost: the run is %s with lease %d", token, runID, status, current)
}

func withRunID(e *workflow.StepExecution, runID string) *workflow.StepExecution {
	if e.RunID != "" {
		return e
	}
	c := *e
	c.RunID = runID
	return &c
}

func insertExecution(w *wtx, e *workflow.StepExecution) error {
	id := e.ID
	if id == "" {
		id = newID()
	}
	_, err := w.stmt(stInsertExecution).ExecContext(w.ctx, id, e.RunID, e.Generation, e.StepID,
		e.StepType, e.Attempt, string(e.Status), jsonArg(e.Input), jsonArg(e.Output), e.Error,
		e.IdempotencyKey, micros(e.StartedAt), micros(e.FinishedAt))
	return err
}

func insertOutbox(w *wtx, m *workflow.OutboxMessage, runID string, now time.Time) error {
	headers, err := headersArg(m.Headers)
	if err != nil {
		return err
	}
	created := m.CreatedAt
	if created.IsZero() {
		created = now
	}
	status := m.Status
	if status == "" {
		status = workflow.OutboxPending
	}
	_, err = w.stmt(stInsertOutbox).ExecContext(w.ctx, orNewID(m.ID), orString(m.RunID, runID), m.StepID,
		m.Exchange, m.RoutingKey, jsonArg(m.Message), headers, m.MessageID, string(status), m.Attempts,
		m.LastError, micros(created), micros(created), nullPtrMicros(m.SentAt))
	return err
}

func insertDeadLetter(w *wtx, d *workflow.DeadLetter, runID string, now time.Time) error {
	created := d.CreatedAt
	if created.IsZero() {
		created = now
	}
	_, err := w.stmt(stInsertDeadLetter).ExecContext(w.ctx, orNewID(d.ID), orString(d.RunID, runID),
		d.Generation, d.WorkflowID, d.WorkflowVersion, d.StepID, d.StepType, d.Reason, d.Attempts,
		d.LastError, jsonArg(d.Input), micros(created), nullPtrMicros(d.ReplayedAt))
	return err
}

func orNewID(id string) string {
	if id == "" {
		return newID()
	}
	return id
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func nullPtrMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return nullMicros(*t)
}
