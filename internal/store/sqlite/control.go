package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/sluicehq/sluice/internal/workflow"
)

// RunExtendLease implements workflow.Store.
func (s *Store) RunExtendLease(ctx context.Context, p *workflow.RunLeaseParams) error {
	return s.write(ctx, "extend lease", func(w *wtx) error {
		res, err := w.exec(`UPDATE runs SET due_at = ?, updated_at = ?
			WHERE id = ? AND lease_token = ? AND status = 'running'`,
			micros(p.Until), micros(p.Now), p.RunID, p.LeaseToken)
		if err != nil {
			return err
		}
		return fenced(w, res, p.RunID, p.LeaseToken)
	})
}

// RunRelease implements workflow.Store.
func (s *Store) RunRelease(ctx context.Context, p *workflow.RunLeaseParams) error {
	return s.write(ctx, "release run", func(w *wtx) error {
		res, err := w.exec(`UPDATE runs SET status = CASE WHEN attempt > 1 THEN 'waiting' ELSE 'pending' END,
			due_at = ?, lease_owner = '', updated_at = ?
			WHERE id = ? AND lease_token = ? AND status = 'running'`,
			micros(p.Now), micros(p.Now), p.RunID, p.LeaseToken)
		if err != nil {
			return err
		}
		return fenced(w, res, p.RunID, p.LeaseToken)
	})
}

// RunExpireLeases implements workflow.Store. updated_at is left alone: it is
// when the lost attempt started, for the interrupted step execution the next
// claim records.
func (s *Store) RunExpireLeases(ctx context.Context, p *workflow.RunExpireLeasesParams) (int, error) {
	var n int64
	err := s.write(ctx, "expire leases", func(w *wtx) error {
		res, err := w.exec(`UPDATE runs SET due_at = ?
			WHERE status = 'running' AND due_at > ? AND (? = '' OR lease_owner = ?)`,
			micros(p.Now), micros(p.Now), p.Owner, p.Owner)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// RunCancel implements workflow.Store. The run's Error becomes the reason
// ("cancelled" if none) and FinishedAt the cancellation time.
func (s *Store) RunCancel(ctx context.Context, p *workflow.RunCancelParams) (*workflow.Run, error) {
	reason := p.Reason
	if reason == "" {
		reason = "cancelled"
	}
	now := micros(p.Now)
	var run *workflow.Run
	err := s.write(ctx, "cancel run", func(w *wtx) error {
		r, err := scanRun(w.queryRow(`UPDATE runs SET status = 'cancelled', lease_token = lease_token + 1,
			lease_owner = '', due_at = NULL, error = ?, finished_at = ?, updated_at = ?
			WHERE id = ? AND status IN ('pending', 'running', 'waiting') RETURNING `+runColumns,
			reason, now, now, p.RunID))
		if errors.Is(err, sql.ErrNoRows) {
			cur, err := scanRun(w.stmt(stRunByID).QueryRowContext(w.ctx, p.RunID))
			if errors.Is(err, sql.ErrNoRows) {
				return workflow.Errorf(workflow.ENOTFOUND, "run %s not found", p.RunID)
			} else if err != nil {
				return err
			}
			return workflow.Errorf(workflow.ECONFLICT, "run %s is %s and cannot be cancelled", p.RunID, cur.Status)
		}
		run = r
		return err
	})
	if err != nil {
		return nil, err
	}
	return run, nil
}

// RunReplay implements workflow.Store.
func (s *Store) RunReplay(ctx context.Context, p *workflow.RunReplayParams) (*workflow.Run, error) {
	switch {
	case !p.From.Valid():
		return nil, wrapErr("replay run", workflow.Invalid("invalid replay",
			workflow.FieldError{Path: "/from", Message: "must be start or failed_step"}))
	case p.From == workflow.ReplayFromStart && p.StartStepID == "":
		return nil, wrapErr("replay run", workflow.Invalid("invalid replay",
			workflow.FieldError{Path: "/startStepId", Message: "required when replaying from the start"}))
	}
	now := micros(p.Now)
	var run *workflow.Run
	err := s.write(ctx, "replay run", func(w *wtx) error {
		cur, err := scanRun(w.stmt(stRunByID).QueryRowContext(w.ctx, p.RunID))
		if errors.Is(err, sql.ErrNoRows) {
			return workflow.Errorf(workflow.ENOTFOUND, "run %s not found", p.RunID)
		} else if err != nil {
			return err
		}
		switch {
		case !cur.Status.Replayable():
			return workflow.Errorf(workflow.ECONFLICT, "run %s is %s; only finished runs can be replayed",
				p.RunID, cur.Status)
		case p.From == workflow.ReplayFromFailedStep && cur.Status == workflow.RunCompleted:
			return workflow.Errorf(workflow.ECONFLICT, "run %s completed; it has no failed step to replay from",
				p.RunID)
		}
		fromStart := p.From == workflow.ReplayFromStart
		stepID := cur.CurrentStepID
		if fromStart {
			stepID = p.StartStepID
		}
		run, err = scanRun(w.queryRow(`UPDATE runs SET status = 'pending', due_at = ?, attempt = 1,
			generation = generation + 1, lease_token = lease_token + 1, lease_owner = '',
			error = '', output = NULL, finished_at = NULL, current_step_id = ?,
			steps = CASE WHEN ? THEN '{}' ELSE steps END, input = COALESCE(?, input), updated_at = ?
			WHERE id = ? RETURNING `+runColumns,
			now, stepID, fromStart, jsonArg(p.Input), now, p.RunID))
		if err != nil {
			return err
		}
		if _, err := w.exec(`INSERT INTO replays (id, run_id, generation, replay_from, step_id,
			previous_status, input_replaced, requested_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			orNewID(p.ReplayID), p.RunID, run.Generation, string(p.From), stepID, string(cur.Status),
			len(p.Input) > 0, p.RequestedBy, now); err != nil {
			return err
		}
		_, err = w.exec(`UPDATE dead_letters SET replayed_at = ? WHERE run_id = ? AND replayed_at IS NULL`,
			now, p.RunID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return run, nil
}
