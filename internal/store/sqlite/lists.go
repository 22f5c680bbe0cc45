package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/internal/workflow"
)

// StepExecutionList implements workflow.Store.
func (s *Store) StepExecutionList(ctx context.Context, runID string) ([]*workflow.StepExecution, error) {
	st, err := s.readStmt(ctx, rsExecutions)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, runID)
	if err != nil {
		return nil, wrapErr("list step executions", err)
	}
	out, err := collect(rows, scanExecution)
	return out, wrapErr("list step executions", err)
}

// ReplayList implements workflow.Store.
func (s *Store) ReplayList(ctx context.Context, runID string) ([]*workflow.Replay, error) {
	st, err := s.readStmt(ctx, rsReplays)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, runID)
	if err != nil {
		return nil, wrapErr("list replays", err)
	}
	out, err := collect(rows, scanReplay)
	return out, wrapErr("list replays", err)
}

// DeadLetterList implements workflow.Store. Limit follows store.PageLimit.
func (s *Store) DeadLetterList(ctx context.Context, p *workflow.DeadLetterListParams) ([]*workflow.DeadLetter, error) {
	limit, err := store.PageLimit(p.Limit)
	if err != nil {
		return nil, wrapErr("list dead letters", err)
	}
	var rows *sql.Rows
	if p.WorkflowID != "" {
		rows, err = s.rdb.QueryContext(ctx, `SELECT `+deadLetterColumns+` FROM dead_letters
			WHERE workflow_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`, p.WorkflowID, limit)
	} else {
		rows, err = s.rdb.QueryContext(ctx, `SELECT `+deadLetterColumns+` FROM dead_letters
			ORDER BY created_at DESC, id DESC LIMIT ?`, limit)
	}
	if err != nil {
		return nil, wrapErr("list dead letters", err)
	}
	out, err := collect(rows, scanDeadLetter)
	return out, wrapErr("list dead letters", err)
}

// DeadLetterGet implements workflow.Store.
func (s *Store) DeadLetterGet(ctx context.Context, id string) (*workflow.DeadLetter, error) {
	st, err := s.readStmt(ctx, rsDeadLetterGet)
	if err != nil {
		return nil, err
	}
	d, err := scanDeadLetter(st.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, wrapErr("get dead letter", workflow.Errorf(workflow.ENOTFOUND, "dead letter %s not found", id))
	}
	return d, wrapErr("get dead letter", err)
}

// OutboxList implements workflow.Store. An empty Status lists every status;
// Limit follows store.PageLimit.
func (s *Store) OutboxList(ctx context.Context, p *workflow.OutboxListParams) ([]*workflow.OutboxMessage, error) {
	limit, err := store.PageLimit(p.Limit)
	if err != nil {
		return nil, wrapErr("list outbox", err)
	}
	if p.Status != "" && !p.Status.Valid() {
		return nil, wrapErr("list outbox", workflow.Invalid("invalid outbox filter",
			workflow.FieldError{Path: "/status", Message: "unknown outbox status " + string(p.Status)}))
	}
	var rows *sql.Rows
	if p.Status != "" {
		rows, err = s.rdb.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox
			WHERE status = ? ORDER BY created_at, seq LIMIT ?`, string(p.Status), limit)
	} else {
		rows, err = s.rdb.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox
			ORDER BY created_at, seq LIMIT ?`, limit)
	}
	if err != nil {
		return nil, wrapErr("list outbox", err)
	}
	out, err := collect(rows, scanOutbox)
	return out, wrapErr("list outbox", err)
}
