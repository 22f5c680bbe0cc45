package dsl

import (
	"time"

	"github.com/sluicehq/sluice/internal/workflow"
)

// defaultRetry is the workflow-level retry policy of doc: defaults.retry
// resolved field by field against workflow.DefaultRetryPolicy.
func defaultRetry(doc *Document) workflow.RetryPolicy {
	if doc.Defaults == nil {
		return workflow.DefaultRetryPolicy
	}
	return resolveRetry(workflow.DefaultRetryPolicy, doc.Defaults.Retry)
}

// defaultTimeout is the workflow-level step timeout of doc.
func defaultTimeout(doc *Document) time.Duration {
	if doc.Defaults == nil {
		return workflow.DefaultStepTimeout
	}
	return resolveDuration(workflow.DefaultStepTimeout, doc.Defaults.Timeout)
}

// resolveRetry overrides base with every field r sets.
func resolveRetry(base workflow.RetryPolicy, r *RetryDoc) workflow.RetryPolicy {
	if r == nil {
		return base
	}
	out := base
	if r.MaxAttempts != nil {
		out.MaxAttempts = *r.MaxAttempts
	}
	out.InitialInterval = resolveDuration(base.InitialInterval, r.InitialInterval)
	if r.Multiplier != nil {
		out.Multiplier = *r.Multiplier
	}
	out.MaxInterval = resolveDuration(base.MaxInterval, r.MaxInterval)
	if r.Jitter != nil {
		out.Jitter = *r.Jitter
	}
	return out
}

// resolveDuration returns s parsed, or base when s is empty or invalid
// (invalid values were reported by the decoder).
func resolveDuration(base time.Duration, s string) time.Duration {
	if s == "" {
		return base
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return base
	}
	return d
}

// checkIntervals reports an effective policy whose maxInterval is shorter
// than its initialInterval, at the field r sets (maxInterval first). When r
// sets neither, the inherited policy was checked where it is written.
func checkIntervals(p *problems, path string, base workflow.RetryPolicy, r *RetryDoc) {
	if r == nil || p.at(path) {
		return
	}
	eff := resolveRetry(base, r)
	if eff.MaxInterval >= eff.InitialInterval {
		return
	}
	switch {
	case r.MaxInterval != "" && r.InitialInterval != "":
		p.add(path+"/maxInterval", "maxInterval %s is shorter than initialInterval %s",
			r.MaxInterval, r.InitialInterval)
	case r.MaxInterval != "":
		p.add(path+"/maxInterval", "maxInterval %s is shorter than the inherited initialInterval %s",
			r.MaxInterval, formatDuration(eff.InitialInterval))
	case r.InitialInterval != "":
		p.add(path+"/initialInterval", "initialInterval %s exceeds the inherited maxInterval %s",
			r.InitialInterval, formatDuration(eff.MaxInterval))
	}
}

// definition converts a valid document to a workflow.Definition with every
// step's effective retry policy and timeout resolved.
func definition(doc *Document) *workflow.Definition {
	def := &workflow.Definition{
		ID:          doc.ID,
		Name:        doc.Name,
		Description: doc.Description,
		Trigger:     workflow.Trigger{Type: doc.Trigger.Type, Key: doc.Trigger.Key},
		StartAt:     doc.StartAt,
		Retry:       defaultRetry(doc),
		Timeout:     defaultTimeout(doc),
		Steps:       make([]workflow.Step, len(doc.Steps)),
	}
	if def.Name == "" {
		def.Name = def.ID
	}
	if def.Trigger.Type == "" {
		def.Trigger.Type = workflow.TriggerManual
	}
	for i, s := range doc.Steps {
		def.Steps[i] = workflow.Step{
			ID:      s.ID,
			Type:    s.Type,
			Config:  configOrEmpty(s.Config),
			Next:    s.Next,
			OnTrue:  s.OnTrue,
			OnFalse: s.OnFalse,
			Retry:   resolveRetry(def.Retry, s.Retry),
			Timeout: resolveDuration(def.Timeout, s.Timeout),
		}
	}
	return def
}

// configOrEmpty returns config, or {} when the step has none.
func configOrEmpty(config []byte) []byte {
	if len(config) == 0 {
		return []byte("{}")
	}
	return config
}
