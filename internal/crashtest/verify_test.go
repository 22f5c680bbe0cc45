package crashtest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", to read the outbox
)

// maxReported caps how many failing runs are described in full.
const maxReported = 10

// verify checks the final state. ch is the final child, still running, and
// api its client; the child is stopped gracefully before the database file
// is read.
func (r *rig) verify(ch *child, api apiClient) {
	t := r.t
	ctx := t.Context()
	accepted := r.ledger.acceptedRuns()
	counts := r.ledger.counts()
	r.stats.runs = len(accepted)

	// Distinct keys were accepted as distinct runs.
	if len(accepted) != counts.accepted {
		t.Errorf("%d keys were accepted, but as only %d distinct runs", counts.accepted, len(accepted))
	}

	// No accepted run is lost, and no run exists that nobody accepted.
	statuses, err := api.runStatuses(ctx, workflowID)
	if err != nil {
		t.Fatalf("list runs: %v", err)
	}
	for _, id := range slices.Sorted(maps.Keys(accepted)) {
		if _, ok := statuses[id]; !ok {
			t.Errorf("LOST RUN: run %s, accepted for key %s, does not exist", id, accepted[id].key)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(statuses)) {
		if accepted[id] == nil {
			t.Errorf("run %s (%s) exists but no start was accepted as it", id, statuses[id])
		}
	}

	details := r.fetchInstances(ctx, api, slices.Collect(maps.Keys(accepted)))
	r.checkIdempotentStarts(ctx, api)

	// Idle keep-alive connections, including any the transport dialled but
	// never used, would hold up the server's graceful shutdown.
	r.hc.CloseIdleConnections()
	if err := ch.stop(15 * time.Second); err != nil {
		t.Errorf("final stop: %v\n%s", err, ch.logTail(40))
	}
	outbox, err := readOutbox(ctx, r.children.dbPath)
	if err != nil {
		t.Fatalf("read the outbox: %v", err)
	}

	calls, noKey := r.down.snapshot()
	if noKey > 0 {
		t.Errorf("the downstream got %d requests without an Idempotency-Key header", noKey)
	}
	callKeys := map[string]string{} // http step idempotency key → run id
	reported := 0
	kinds := map[string]int{} // problem, numbers and ids elided → runs
	for _, id := range slices.Sorted(maps.Keys(accepted)) {
		in := details[id]
		if in == nil {
			continue // fetchInstances reported it
		}
		key, problems := r.checkRun(in, accepted[id], calls, outbox[id])
		if key != "" {
			if other, dup := callKeys[key]; dup {
				problems = append(problems, fmt.Sprintf("http step idempotency key %s is also used by run %s", key, other))
			}
			callKeys[key] = id
		}
		if len(problems) == 0 {
			continue
		}
		seen := map[string]bool{}
		for _, p := range problems {
			if k := problemKind(p); !seen[k] {
				seen[k] = true
				kinds[k]++
			}
		}
		reported++
		if reported <= maxReported {
			t.Errorf("run %s (key %s, n=%d):\n  - %s\n%s", id, accepted[id].key, accepted[id].n,
				strings.Join(problems, "\n  - "), describeRun(in))
		}
	}
	if reported > maxReported {
		t.Errorf("... and %d more runs with problems", reported-maxReported)
	}
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		t.Errorf("%d of %d runs: %s", kinds[k], len(accepted), k)
	}
	for _, key := range slices.Sorted(maps.Keys(calls)) {
		if _, ok := callKeys[key]; !ok && key != "" {
			t.Errorf("the downstream got %d calls with idempotency key %s, which no run's http step used", calls[key].calls, key)
		}
	}
	crashes, err := scanLogs(r.children.logDir)
	if err != nil {
		t.Errorf("scan the server logs: %v", err)
	}
	for _, line := range crashes {
		t.Errorf("a server crashed by itself or raced: %s", line)
	}
	for _, runID := range slices.Sorted(maps.Keys(outbox)) {
		if accepted[runID] == nil {
			t.Errorf("%d outbox rows belong to run %s, which no start was accepted as", len(outbox[runID]), runID)
		}
	}
}

// fetchInstances GETs every run with its step executions, a few at a time.
func (r *rig) fetchInstances(ctx context.Context, api apiClient, ids []string) map[string]*instance {
	var mu sync.Mutex
	out := make(map[string]*instance, len(ids))
	forEach(ids, func(id string) {
		in, err := api.instance(ctx, id)
		if err != nil {
			r.t.Errorf("get run %s: %v", id, err)
			return
		}
		mu.Lock()
		out[id] = in
		mu.Unlock()
	})
	return out
}

// checkIdempotentStarts re-posts every accepted key: each must answer 200,
// Idempotent-Replayed: true, with the run it was accepted as.
func (r *rig) checkIdempotentStarts(ctx context.Context, api apiClient) {
	var keys []string
	byKey := map[string]*start{}
	for _, s := range r.ledger.starts() {
		if id := r.ledger.instanceOf(s); id != "" {
			keys = append(keys, s.key)
			byKey[s.key] = s
		}
	}
	var mu sync.Mutex
	bad := 0
	forEach(keys, func(key string) {
		s := byKey[key]
		want := r.ledger.instanceOf(s)
		ans := api.webhook(ctx, triggerKey, key, s.body)
		if ans.err == nil && ans.status == 200 && ans.replayed && ans.result.InstanceID == want {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if bad++; bad <= maxReported {
			r.t.Errorf("re-posting key %s: want 200, Idempotent-Replayed: true and run %s; got %d, replayed=%v, run %q, err %v: %s",
				key, want, ans.status, ans.replayed, ans.result.InstanceID, ans.err, ans.body)
		}
	})
	if bad > maxReported {
		r.t.Errorf("... and %d more keys whose re-post was wrong", bad-maxReported)
	}
}

// checkRun checks one run; it returns the http step's idempotency key and
// the problems found, and adds to the statistics.
func (r *rig) checkRun(in *instance, s *start, calls map[string]keyCalls, outbox []outboxRow) (callKey string, problems []string) {
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if in.Status != "completed" {
		add("status %s, want completed (error: %q)", in.Status, in.Error)
	}
	if in.Generation != 0 {
		add("generation %d, want 0 (nobody replayed it)", in.Generation)
	}
	var input struct{ N *int64 }
	if err := json.Unmarshal(in.Input, &input); err != nil || input.N == nil || *input.N != s.n {
		add("input %s, want n=%d", in.Input, s.n)
	}

	// Group the executions by step, in recorded order.
	byStep := map[string][]stepExecution{}
	for _, e := range in.Steps {
		if e.Generation != 0 {
			add("execution %s of step %s has generation %d", e.ID, e.StepID, e.Generation)
		}
		if !slices.Contains(allSteps, e.StepID) {
			add("execution %s of unknown step %q", e.ID, e.StepID)
			continue
		}
		byStep[e.StepID] = append(byStep[e.StepID], e)
		if e.Status == "interrupted" {
			r.stats.interrupted++
		}
		r.stats.maxAttempts = max(r.stats.maxAttempts, e.Attempt)
	}
	keys := map[string]string{} // idempotency key → step
	for _, stepID := range allSteps {
		execs := byStep[stepID]
		completed, failed, interrupted := 0, 0, 0
		for i, e := range execs {
			switch e.Status {
			case "completed":
				completed++
				if i != len(execs)-1 {
					add("step %s: completed execution (attempt %d) is followed by more executions", stepID, e.Attempt)
				}
			case "failed":
				failed++
			case "interrupted":
				interrupted++
			default:
				add("step %s attempt %d: unknown status %q", stepID, e.Attempt, e.Status)
			}
			if e.Type != stepTypes[stepID] {
				add("step %s attempt %d (%s) records type %q, want %q", stepID, e.Attempt, e.Status, e.Type, stepTypes[stepID])
			}
			if e.Attempt != i+1 {
				add("step %s: execution %d in recorded order has attempt %d, want %d", stepID, i+1, e.Attempt, i+1)
			}
		}
		if completed != 1 {
			add("step %s has %d completed executions, want exactly 1", stepID, completed)
		}
		key := stepKey(execs, add)
		if key == "" {
			continue
		}
		if other, dup := keys[key]; dup {
			add("steps %s and %s share the idempotency key %s", other, stepID, key)
		}
		keys[key] = stepID

		switch stepID {
		case stepCall:
			callKey = key
			r.checkCalls(in, s, calls[key], failed, interrupted, add)
		case stepPublish:
			checkOutbox(in, s, key, outbox, add)
		}
	}
	return callKey, problems
}

// stepKey returns the idempotency key of a step's executions, which must
// all carry the same one: the key the step passes downstream is the same
// across retries and crash re-runs, and an execution records it whatever its
// outcome.
func stepKey(execs []stepExecution, add func(string, ...any)) string {
	key := ""
	for _, e := range execs {
		if key == "" {
			key = e.IdempotencyKey
		}
	}
	for _, e := range execs {
		switch e.IdempotencyKey {
		case key:
		case "":
			add("step %s attempt %d (%s) records no idempotency key; the step's key is %s", e.StepID, e.Attempt, e.Status, key)
		default:
			add("step %s attempt %d (%s) records idempotency key %s; another attempt records %s", e.StepID, e.Attempt, e.Status, e.IdempotencyKey, key)
		}
	}
	return key
}

// checkCalls checks the downstream's view of the run's http step: every
// call beyond the first is accounted for by a failed or interrupted
// execution, and every recorded failure (an injected 503) was a real call.
func (r *rig) checkCalls(in *instance, s *start, kc keyCalls, failed, interrupted int, add func(string, ...any)) {
	r.stats.downstreamCalls += kc.calls
	r.stats.duplicateCalls += max(kc.calls-1, 0)
	r.stats.maxCallsPerKey = max(r.stats.maxCallsPerKey, kc.calls)
	r.stats.unavailable += kc.unavailable
	r.stats.failedCalls += failed
	r.stats.interruptedCalls += interrupted
	switch {
	case kc.calls == 0:
		add("the downstream never got a call for the http step (which completed)")
	case kc.calls-1 > failed+interrupted:
		add("UNACCOUNTED DUPLICATE: the downstream got %d calls for the http step's key, but only %d failed + %d interrupted executions are recorded (at most %d calls explained)",
			kc.calls, failed, interrupted, 1+failed+interrupted)
	}
	if kc.calls < 1+failed {
		add("%d failed executions of the http step plus the completed one, but the downstream got only %d calls", failed, kc.calls)
	}
	// Every recorded failure is an injected 503; a 503 whose answer the
	// server did not live to record is an interrupted execution.
	if kc.unavailable < failed || kc.unavailable > failed+interrupted {
		add("the downstream answered %d calls with 503, but %d failed and %d interrupted executions are recorded", kc.unavailable, failed, interrupted)
	}
	if len(kc.bad) > 0 {
		add("the downstream got undecodable bodies: %q", kc.bad)
	}
	if len(kc.ns) > 0 && (len(kc.ns) != 1 || !kc.ns[s.n]) {
		add("the downstream got n values %v, want only %d", slices.Sorted(maps.Keys(kc.ns)), s.n)
	}
	if len(kc.runIDs) > 0 && (len(kc.runIDs) != 1 || !kc.runIDs[in.ID]) {
		add("the downstream got run ids %v, want only %s", slices.Sorted(maps.Keys(kc.runIDs)), in.ID)
	}
}

// checkOutbox checks that the run has exactly one outbox row, written by
// the publish step, with the step's idempotency key as message id.
func checkOutbox(in *instance, s *start, publishKey string, rows []outboxRow, add func(string, ...any)) {
	if len(rows) != 1 {
		add("%d outbox rows, want exactly 1", len(rows))
	}
	for _, m := range rows {
		if m.stepID != stepPublish || m.messageID != publishKey {
			add("outbox row %s: step %q, message id %q; want step %q, message id %q (the publish step's idempotency key)",
				m.id, m.stepID, m.messageID, stepPublish, publishKey)
		}
		var msg struct {
			N     *int64 `json:"n"`
			RunID string `json:"runId"`
		}
		if err := json.Unmarshal([]byte(m.message), &msg); err != nil || msg.N == nil || *msg.N != s.n || msg.RunID != in.ID {
			add("outbox row %s: message %s, want n=%d and runId %s", m.id, m.message, s.n, in.ID)
		}
	}
}

// outboxRow is one row of the outbox table.
type outboxRow struct {
	id, runID, stepID, messageID, message, status string
}

// readOutbox reads the outbox table of the SQLite database at path, by run
// id. The server must not be running.
func readOutbox(ctx context.Context, path string) (map[string][]outboxRow, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT id, run_id, step_id, message_id, COALESCE(message, ''), status FROM outbox ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]outboxRow{}
	for rows.Next() {
		var m outboxRow
		if err := rows.Scan(&m.id, &m.runID, &m.stepID, &m.messageID, &m.message, &m.status); err != nil {
			return nil, err
		}
		out[m.runID] = append(out[m.runID], m)
	}
	return out, rows.Err()
}

var (
	uuidPattern   = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	numberPattern = regexp.MustCompile(`\b\d+\b`)
)

// problemKind elides the ids and numbers of a problem, so that problems of
// many runs can be counted by kind.
func problemKind(p string) string {
	return numberPattern.ReplaceAllString(uuidPattern.ReplaceAllString(p, "<id>"), "N")
}

// describeRun renders a run and its step executions for a failure message.
func describeRun(in *instance) string {
	var b strings.Builder
	fmt.Fprintf(&b, "    run %s: status %s, step %s, attempt %d, generation %d, error %q\n",
		in.ID, in.Status, in.CurrentStepID, in.Attempt, in.Generation, in.Error)
	for _, e := range in.Steps {
		fmt.Fprintf(&b, "      %-8s attempt %-2d gen %d %-11s key %s %s\n", e.StepID, e.Attempt, e.Generation, e.Status, e.IdempotencyKey, e.Error)
	}
	return b.String()
}

// forEach calls f for every item, eight at a time.
func forEach(items []string, f func(string)) {
	const workers = 8
	ch := make(chan string)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for it := range ch {
				f(it)
			}
		})
	}
	for _, it := range items {
		ch <- it
	}
	close(ch)
	wg.Wait()
}
