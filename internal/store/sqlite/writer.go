package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"

	"github.com/sluicehq/sluice/internal/workflow"
)

// writeOp is one write request for the writer goroutine.
type writeOp struct {
	// ctx is the caller's context: an op whose caller gave up before its turn
	// is skipped.
	ctx context.Context
	// fn does the work. An error undoes fn's writes only. fn may run twice
	// (see commitBatch): it must (re)set every result it reports, and only
	// the last run's results count.
	fn func(w *wtx) error
	// done receives the op's outcome once the batch committed (buffered).
	done chan error
}

// wtx is the transaction of one batch, with its prepared statements bound
// lazily.
type wtx struct {
	ctx   context.Context
	tx    *sql.Tx
	s     *Store
	stmts [numWriteStmts]*sql.Stmt
}

// stmt returns prepared statement i bound to the batch's transaction.
func (w *wtx) stmt(i writeStmt) *sql.Stmt {
	if w.stmts[i] == nil {
		w.stmts[i] = w.tx.StmtContext(w.ctx, w.s.wstmt[i])
	}
	return w.stmts[i]
}

// exec runs an ad-hoc statement in the batch's transaction.
func (w *wtx) exec(query string, args ...any) (sql.Result, error) {
	return w.tx.ExecContext(w.ctx, query, args...)
}

// queryRow runs an ad-hoc query in the batch's transaction.
func (w *wtx) queryRow(query string, args ...any) *sql.Row {
	return w.tx.QueryRowContext(w.ctx, query, args...)
}

// write runs fn in the writer goroutine, as part of the next group commit,
// and returns its error (wrapped with op) once the batch committed.
// If ctx ends while the op is queued, the op is skipped and ctx's error
// returned; if it ends while the batch runs, the write may still commit.
func (s *Store) write(ctx context.Context, op string, fn func(w *wtx) error) error {
	r := &writeOp{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.queue <- r:
	case <-ctx.Done():
		return wrapErr(op, ctx.Err())
	case <-s.closing:
		return wrapErr(op, errClosed)
	}
	select {
	case err := <-r.done:
		return wrapErr(op, err)
	case <-ctx.Done():
		return wrapErr(op, ctx.Err())
	case <-s.writerDone:
		select {
		case err := <-r.done:
			return wrapErr(op, err)
		default:
			return wrapErr(op, errClosed)
		}
	}
}

// runWriter is the writer goroutine: it takes the first queued op, whatever
// else is queued up to MaxBatch, runs them in one transaction and answers
// every caller after the commit.
func (s *Store) runWriter() {
	defer close(s.writerDone)
	batch := make([]*writeOp, 0, s.cfg.MaxBatch)
	for {
		batch = batch[:0]
		select {
		case r := <-s.queue:
			batch = append(batch, r)
		case <-s.closing:
			for {
				select {
				case r := <-s.queue:
					r.done <- errClosed
				default:
					return
				}
			}
		}
		// Let the callers answered by the last batch queue their next write
		// first: fewer, larger batches commit more writes per second.
		runtime.Gosched()
	fill:
		for len(batch) < s.cfg.MaxBatch {
			select {
			case r := <-s.queue:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.commitBatch(batch)
		clear(batch)
	}
}

// commitBatch runs batch in one transaction and answers each op. It first
// runs the ops back to back; if one fails, it rolls back and runs them again,
// each in its own savepoint, so that only the failed ops are undone. Failures
// are rare (a lost lease, a reused idempotency key), and two statements less
// per op is what makes group commit fast.
func (s *Store) commitBatch(batch []*writeOp) {
	errs := s.errs[:len(batch)]
	if !s.runBatch(batch, errs, false) && len(batch) > 1 {
		clear(errs)
		s.runBatch(batch, errs, true)
	}
	for i, r := range batch {
		r.done <- errs[i]
	}
	clear(errs)
}

// runBatch runs batch in one transaction and records each op's outcome in
// errs. Without savepoints it stops at the first failed op, rolls back and
// returns false (errs then holds that op's error, the ops before it are
// rolled back too).
func (s *Store) runBatch(batch []*writeOp, errs []error, savepoints bool) bool {
	fail := func(err error) {
		for i := range errs {
			errs[i] = err
		}
	}
	ctx := context.Background()
	if err := s.prepareWrites(ctx); err != nil {
		fail(err)
		return true
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("begin: %w", err))
		return true
	}
	w := &wtx{ctx: ctx, tx: tx, s: s}
	exec := func(st writeStmt) bool {
		if _, err := w.stmt(st).ExecContext(ctx); err != nil {
			fail(fmt.Errorf("%s: %w", writeSQL[st], err))
			_ = tx.Rollback()
			return false
		}
		return true
	}
	ok := 0
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if savepoints && !exec(stSavepoint) {
			return true
		}
		errs[i] = runOp(w, r)
		switch {
		case errs[i] == nil:
			ok++
		case !savepoints:
			_ = tx.Rollback()
			return false
		case !exec(stRollbackTo):
			return true
		}
		if savepoints && !exec(stRelease) {
			return true
		}
	}
	if ok == 0 {
		_ = tx.Rollback()
		return true
	}
	if err := tx.Commit(); err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = fmt.Errorf("commit: %w", err)
			}
		}
	}
	return true
}

// runOp runs one op, turning a panic into an EINTERNAL error so that the
// writer goroutine survives a bug in one op.
func runOp(w *wtx, r *writeOp) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = workflow.Errorf(workflow.EINTERNAL, "panic in write: %v", p)
		}
	}()
	return r.fn(w)
}
