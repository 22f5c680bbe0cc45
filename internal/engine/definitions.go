package engine

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/dsl"
	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/workflow"
)

// definitionCache holds compiled definitions by workflow id and version.
// Versions never change once stored, so entries never go stale; a workflow
// has few versions, so the cache is unbounded.
type definitionCache struct {
	store    workflow.Store
	registry *step.Registry

	mu   sync.RWMutex
	byID map[string]*dsl.Compiled
}

func newDefinitionCache(store workflow.Store, reg *step.Registry) *definitionCache {
	return &definitionCache{store: store, registry: reg, byID: map[string]*dsl.Compiled{}}
}

func cacheKey(workflowID string, version int) string {
	return workflowID + "@" + strconv.Itoa(version)
}

// get returns the compiled definition of one workflow version, compiling it
// on first use.
func (c *definitionCache) get(ctx context.Context, workflowID string, version int) (*dsl.Compiled, error) {
	key := cacheKey(workflowID, version)
	c.mu.RLock()
	compiled, ok := c.byID[key]
	c.mu.RUnlock()
	if ok {
		return compiled, nil
	}
	v, err := c.store.WorkflowGet(ctx, &workflow.WorkflowGetParams{ID: workflowID, Version: version})
	if err != nil {
		return nil, fmt.Errorf("load workflow %s version %d: %w", workflowID, version, err)
	}
	compiled, err = dsl.Compile(v.Definition, c.registry)
	if err != nil {
		return nil, fmt.Errorf("compile workflow %s version %d: %w", workflowID, version, err)
	}
	c.put(workflowID, version, compiled)
	return compiled, nil
}

func (c *definitionCache) put(workflowID string, version int, compiled *dsl.Compiled) {
	c.mu.Lock()
	c.byID[cacheKey(workflowID, version)] = compiled
	c.mu.Unlock()
}

// triggerCache remembers which workflow version a webhook key or workflow id
// starts, for a short TTL, so that accepting a webhook costs one write and no
// read.
type triggerCache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]triggerEntry
}

type triggerEntry struct {
	version *workflow.WorkflowVersion
	expires time.Time
}

func newTriggerCache(ttl time.Duration, now func() time.Time) *triggerCache {
	return &triggerCache{ttl: ttl, now: now, entries: map[string]triggerEntry{}}
}

func (c *triggerCache) get(key string) (*workflow.WorkflowVersion, bool) {
	if c.ttl <= 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || c.now().After(e.expires) {
		return nil, false
	}
	return e.version, true
}

func (c *triggerCache) put(key string, v *workflow.WorkflowVersion) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	c.entries[key] = triggerEntry{version: v, expires: c.now().Add(c.ttl)}
	c.mu.Unlock()
}

// clear forgets everything; called when this process changes a workflow.
func (c *triggerCache) clear() {
	c.mu.Lock()
	clear(c.entries)
	c.mu.Unlock()
}
