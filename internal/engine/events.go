package engine

import (
	"time"

	"github.com/sluicehq/sluice/internal/workflow"
)

// EventType names what happened to a run.
type EventType string

// Event types.
const (
	// EventStarted: a new run was accepted.
	EventStarted EventType = "run.started"
	// EventStep: a step attempt was checkpointed; Status is the run's new
	// status.
	EventStep EventType = "run.step"
	// EventCancelled: the run was cancelled.
	EventCancelled EventType = "run.cancelled"
	// EventReplayed: the run was replayed.
	EventReplayed EventType = "run.replayed"
)

// Event describes a committed change of a run. Events are emitted after the
// change is durable; an observer that misses one (or a process that crashes
// before emitting it) loses nothing but the notification.
type Event struct {
	Type       EventType
	RunID      string
	WorkflowID string
	// Status is the run's status after the change.
	Status workflow.RunStatus
	// StepID, StepStatus and Attempt describe the checkpointed attempt
	// (EventStep only).
	StepID     string
	StepStatus workflow.StepStatus
	Attempt    int
	At         time.Time
}

// emit hands an event to the observer, if any.
func (e *Engine) emit(ev Event) {
	if e.cfg.Observer != nil {
		e.cfg.Observer(ev)
	}
}

func runEvent(t EventType, run *workflow.Run, at time.Time) Event {
	return Event{Type: t, RunID: run.ID, WorkflowID: run.WorkflowID, Status: run.Status, At: at}
}
