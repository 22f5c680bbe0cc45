package sqlite

// writeStmt names a statement prepared on the writer connection. These are the
// statements of the hot paths (start, claim, checkpoint); rarer writes use
// ad-hoc SQL.
type writeStmt int

const (
	stSavepoint writeStmt = iota
	stRollbackTo
	stRelease
	stInsertRun
	stRunByKey
	stRunByID
	stLeaseState
	stClaimSelect
	stClaimUpdate
	stCheckpointRunning
	stCheckpoint
	stInsertExecution
	stInsertOutbox
	stInsertDeadLetter
	numWriteStmts
)

var writeSQL = [numWriteStmts]string{
	stSavepoint:  `SAVEPOINT op`,
	stRollbackTo: `ROLLBACK TO op`,
	stRelease:    `RELEASE op`,

	// The conflict target names the partial unique index (trigger_key,
	// idempotency_key) WHERE idempotency_key <> ''; runs without a key never
	// conflict. Other conflicts (the id) fail.
	stInsertRun: `INSERT INTO runs (id, workflow_id, workflow_version, status, current_step_id, attempt,
		generation, input, steps, trigger_key, idempotency_key, request_hash, due_at, lease_token,
		created_at, updated_at)
		VALUES (?, ?, ?, 'pending', ?, 1, 0, ?, '{}', ?, ?, ?, ?, 0, ?, ?)
		ON CONFLICT (trigger_key, idempotency_key) WHERE idempotency_key <> '' DO NOTHING`,
	stRunByKey: `SELECT ` + runColumns + ` FROM runs
		WHERE trigger_key = ? AND idempotency_key = ? AND idempotency_key <> ''`,
	stRunByID:    `SELECT ` + runColumns + ` FROM runs WHERE id = ?`,
	stLeaseState: `SELECT status, lease_token FROM runs WHERE id = ?`,
	stClaimSelect: `SELECT id, status, lease_owner, current_step_id, attempt, generation, updated_at FROM runs
		WHERE due_at IS NOT NULL AND due_at <= ? ORDER BY due_at, id LIMIT ?`,
	// In SET, status is the old status: a run that was running lost its
	// lease, and its step counts as an attempt.
	stClaimUpdate: `UPDATE runs SET status = 'running', lease_owner = ?, lease_token = lease_token + 1,
		due_at = ?, started_at = COALESCE(started_at, ?),
		attempt = CASE WHEN status = 'running' THEN attempt + 1 ELSE attempt END, updated_at = ?
		WHERE id = ? RETURNING ` + runColumns,
	// Fencing: a checkpoint only applies while the caller's lease is
	// current. stCheckpointRunning keeps the run running and leased; it sets
	// neither status nor lease_owner so that SQLite leaves runs_status alone.
	stCheckpointRunning: `UPDATE runs SET current_step_id = ?, attempt = ?, steps = COALESCE(?, steps),
		output = ?, error = ?, due_at = COALESCE(?, due_at), updated_at = ?
		WHERE id = ? AND lease_token = ? AND status = 'running'`,
	stCheckpoint: `UPDATE runs SET status = ?, current_step_id = ?, attempt = ?, steps = COALESCE(?, steps),
		output = ?, error = ?, due_at = ?, lease_owner = '', finished_at = ?, updated_at = ?
		WHERE id = ? AND lease_token = ? AND status = 'running'`,
	stInsertExecution: `INSERT INTO step_executions (id, run_id, generation, step_id, step_type, attempt,
		status, input, output, error, idempotency_key, started_at, finished_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	stInsertOutbox: `INSERT INTO outbox (id, run_id, step_id, exchange, routing_key, message, headers,
		message_id, status, attempts, last_error, next_attempt_at, created_at, sent_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	stInsertDeadLetter: `INSERT INTO dead_letters (id, run_id, generation, workflow_id, workflow_version,
		step_id, step_type, reason, attempts, last_error, input, created_at, replayed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
}

// readStmt names a statement prepared on the read pool.
type readStmt int

const (
	rsRunGet readStmt = iota
	rsNextDue
	rsExecutions
	rsReplays
	rsDeadLetterGet
	numReadStmts
)

var readSQL = [numReadStmts]string{
	rsRunGet:        `SELECT ` + runColumns + ` FROM runs WHERE id = ?`,
	rsNextDue:       `SELECT MIN(due_at) FROM runs WHERE due_at IS NOT NULL`,
	rsExecutions:    `SELECT ` + execColumns + ` FROM step_executions WHERE run_id = ? ORDER BY seq`,
	rsReplays:       `SELECT ` + replayColumns + ` FROM replays WHERE run_id = ? ORDER BY generation, created_at`,
	rsDeadLetterGet: `SELECT ` + deadLetterColumns + ` FROM dead_letters WHERE id = ?`,
}
