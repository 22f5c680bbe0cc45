package sqlite

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/internal/workflow"
)

// scanner is *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// runColumns are the columns scanRun reads, in order.
const runColumns = `id, workflow_id, workflow_version, status, current_step_id, attempt, generation,
	input, steps, output, error, trigger_key, idempotency_key, request_hash, due_at, lease_owner,
	lease_token, created_at, updated_at, started_at, finished_at`

func scanRun(sc scanner) (*workflow.Run, error) {
	var (
		r                      workflow.Run
		status                 string
		due, started, finished sql.NullInt64
		createdAt, updatedAt   int64
		input, steps, output   []byte
	)
	err := sc.Scan(&r.ID, &r.WorkflowID, &r.WorkflowVersion, &status, &r.CurrentStepID, &r.Attempt,
		&r.Generation, &input, &steps, &output, &r.Error, &r.TriggerKey, &r.IdempotencyKey,
		&r.RequestHash, &due, &r.LeaseOwner, &r.LeaseToken, &createdAt, &updatedAt, &started, &finished)
	if err != nil {
		return nil, err
	}
	r.Status = workflow.RunStatus(status)
	r.Input, r.Steps, r.Output = input, steps, output
	r.DueAt, r.StartedAt, r.FinishedAt = timePtr(due), timePtr(started), timePtr(finished)
	r.CreatedAt, r.UpdatedAt = fromMicros(createdAt), fromMicros(updatedAt)
	return &r, nil
}

// execColumns are the columns scanExecution reads, in order.
const execColumns = `id, run_id, generation, step_id, step_type, attempt, status, input, output, error,
	idempotency_key, started_at, finished_at`

func scanExecution(sc scanner) (*workflow.StepExecution, error) {
	var (
		e                   workflow.StepExecution
		status              string
		input, output       []byte
		startedAt, finished int64
	)
	err := sc.Scan(&e.ID, &e.RunID, &e.Generation, &e.StepID, &e.StepType, &e.Attempt, &status,
		&input, &output, &e.Error, &e.IdempotencyKey, &startedAt, &finished)
	if err != nil {
		return nil, err
	}
	e.Status = workflow.StepStatus(status)
	e.Input, e.Output = input, output
	e.StartedAt, e.FinishedAt = fromMicros(startedAt), fromMicros(finished)
	return &e, nil
}

// deadLetterColumns are the columns scanDeadLetter reads, in order.
const deadLetterColumns = `id, run_id, generation, workflow_id, workflow_version, step_id, step_type,
	reason, attempts, last_error, input, created_at, replayed_at`

func scanDeadLetter(sc scanner) (*workflow.DeadLetter, error) {
	var (
		d         workflow.DeadLetter
		input     []byte
		createdAt int64
		replayed  sql.NullInt64
	)
	err := sc.Scan(&d.ID, &d.RunID, &d.Generation, &d.WorkflowID, &d.WorkflowVersion, &d.StepID,
		&d.StepType, &d.Reason, &d.Attempts, &d.LastError, &input, &createdAt, &replayed)
	if err != nil {
		return nil, err
	}
	d.Input = input
	d.CreatedAt, d.ReplayedAt = fromMicros(createdAt), timePtr(replayed)
	return &d, nil
}

// replayColumns are the columns scanReplay reads, in order.
const replayColumns = `id, run_id, generation, replay_from, step_id, previous_status, input_replaced,
	requested_by, created_at`

func scanReplay(sc scanner) (*workflow.Replay, error) {
	var (
		r              workflow.Replay
		from, previous string
		createdAt      int64
	)
	err := sc.Scan(&r.ID, &r.RunID, &r.Generation, &from, &r.StepID, &previous, &r.InputReplaced,
		&r.RequestedBy, &createdAt)
	if err != nil {
		return nil, err
	}
	r.From, r.PreviousStatus = workflow.ReplayFrom(from), workflow.RunStatus(previous)
	r.CreatedAt = fromMicros(createdAt)
	return &r, nil
}

// outboxColumns are the columns scanOutbox reads, in order.
const outboxColumns = `id, run_id, step_id, exchange, routing_key, message, headers, message_id, status,
	attempts, last_error, created_at, sent_at`

func scanOutbox(sc scanner) (*workflow.OutboxMessage, error) {
	var (
		m                workflow.OutboxMessage
		status           string
		message, headers []byte
		createdAt        int64
		sent             sql.NullInt64
	)
	err := sc.Scan(&m.ID, &m.RunID, &m.StepID, &m.Exchange, &m.RoutingKey, &message, &headers,
		&m.MessageID, &status, &m.Attempts, &m.LastError, &createdAt, &sent)
	if err != nil {
		return nil, err
	}
	m.Status, m.Message = workflow.OutboxStatus(status), message
	if len(headers) > 0 {
		if err := json.Unmarshal(headers, &m.Headers); err != nil {
			return nil, workflow.Errorf(workflow.EINTERNAL, "decode headers of outbox message %s: %v", m.ID, err)
		}
	}
	m.CreatedAt, m.SentAt = fromMicros(createdAt), timePtr(sent)
	return &m, nil
}

// versionColumns are the columns scanVersion reads, in order (v is
// workflow_versions, w is workflows).
const versionColumns = `v.workflow_id, v.version, v.name, v.trigger_type, v.trigger_key, v.definition,
	v.hash, w.enabled, w.latest_version, v.created_at`

func scanVersion(sc scanner) (*workflow.WorkflowVersion, error) {
	var (
		v          workflow.WorkflowVersion
		definition []byte
		createdAt  int64
	)
	err := sc.Scan(&v.WorkflowID, &v.Version, &v.Name, &v.TriggerType, &v.TriggerKey, &definition,
		&v.Hash, &v.Enabled, &v.LatestVersion, &createdAt)
	if err != nil {
		return nil, err
	}
	v.Definition, v.CreatedAt = definition, fromMicros(createdAt)
	return &v, nil
}

// micros is the stored form of a time: unix microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }

// nullMicros is micros, or NULL for the zero time.
func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// fromMicros is the inverse of micros, in UTC.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// truncate returns t as it will read back from the database.
func truncate(t time.Time) time.Time { return fromMicros(micros(t)) }

func timePtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromMicros(n.Int64)
	return &t
}

// jsonArg binds a JSON document as TEXT (a []byte would bind as a BLOB);
// empty documents are NULL.
func jsonArg(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// cloneJSON returns the document as it will read back from the database.
func cloneJSON(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return bytes.Clone(b)
}

// headersArg encodes outbox headers as a JSON object, NULL when empty.
func headersArg(h map[string]string) (any, error) {
	if len(h) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(h)
	if err != nil {
		return nil, workflow.Errorf(workflow.EINVALID, "encode outbox headers: %v", err)
	}
	return string(b), nil
}

// newID returns a UUIDv7 for rows whose caller supplied no id.
func newID() string { return uuid.Must(uuid.NewV7()).String() }
