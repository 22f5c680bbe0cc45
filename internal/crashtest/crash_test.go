package crashtest

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Knobs of the test, chosen so that a run takes well under a minute on two
// cores while every kill still lands among dozens of runs in flight.
const (
	// defaultCycles is how many times the server is started and killed
	// before the final, undisturbed start. SLUICE_CRASH_CYCLES overrides it.
	defaultCycles = 12
	// leaseFor is the server's --lease, the production default: a restarted
	// server owns its SQLite file alone and takes a killed predecessor's
	// runs over at once, so the test must not need short leases to finish
	// (drainTimeout is shorter than one lease).
	leaseFor = 30 * time.Second
	// senders fire webhooks concurrently, pausing 0..maxSendPause between
	// requests, until the kill: so every kill lands among runs in flight.
	// A cycle offers them the keys whose answer a kill lost, then at most
	// maxWebhooksPerCycle new keys.
	senders             = 6
	maxSendPause        = 30 * time.Millisecond
	maxWebhooksPerCycle = 200
	// A running server is killed killEarliest..killLatest after it is ready.
	killEarliest = 50 * time.Millisecond
	killLatest   = 400 * time.Millisecond
	// With probability startupKillRate a cycle kills the server
	// 0..startupKillMax after it was started, during start-up (opening the
	// database, recovering leases) before it is known to be ready.
	startupKillRate = 0.2
	startupKillMax  = 150 * time.Millisecond
	// The downstream answers 503 with probability downstreamFailRate, after
	// 0..downstreamMaxDelay.
	downstreamFailRate = 0.08
	downstreamMaxDelay = 20 * time.Millisecond
	// Deadlines for observing the child.
	readyTimeout = 20 * time.Second
	drainTimeout = 25 * time.Second
)

// The workflow under test and its step ids.
const (
	workflowID  = "crash-flow"
	triggerKey  = "crash"
	stepCheck   = "check"
	stepCall    = "call"
	stepPause   = "pause"
	stepPublish = "publish"
)

// allSteps lists the steps every run must complete, in order.
var allSteps = []string{stepCheck, stepCall, stepPause, stepPublish}

// stepTypes maps each step to its type.
var stepTypes = map[string]string{
	stepCheck: "condition", stepCall: "http", stepPause: "delay", stepPublish: "queue_publish",
}

// workflowDefinition returns the DSL document: condition → http POST to the
// downstream (with retries) → delay → queue_publish, then the run ends.
// Steps keep the default timeout: recovery does not depend on it.
//
// The engine charges a step one attempt for every execution a kill
// interrupted (even one claimed but not yet started), so each kill may cost
// a claimed run one attempt. The retry budget is therefore larger than the
// number of kills plus the injected failures a run can plausibly meet: the
// test's own chaos must not dead-letter a run.
func workflowDefinition(downstreamURL string, cycles int) []byte {
	attempts := min(max(10, cycles+10), 100)
	def := map[string]any{
		"id":      workflowID,
		"name":    "Crash test flow",
		"trigger": map[string]any{"type": "webhook", "key": triggerKey},
		"startAt": stepCheck,
		"defaults": map[string]any{
			"retry": map[string]any{"maxAttempts": attempts},
		},
		"steps": []any{
			map[string]any{
				"id": stepCheck, "type": "condition",
				"config": map[string]any{"expression": "input.n >= 0"},
				"onTrue": stepCall,
			},
			map[string]any{
				"id": stepCall, "type": "http",
				"config": map[string]any{
					"method": "POST",
					"url":    downstreamURL + "/effects",
					"body":   map[string]any{"n": "{{ input.n }}", "runId": "{{ run.id }}"},
				},
				"retry": map[string]any{
					"maxAttempts": attempts, "initialInterval": "10ms", "multiplier": 2,
					"maxInterval": "200ms", "jitter": 0.5,
				},
				"next": stepPause,
			},
			map[string]any{
				"id": stepPause, "type": "delay",
				"config": map[string]any{"duration": "10ms"},
				"next":   stepPublish,
			},
			map[string]any{
				"id": stepPublish, "type": "queue_publish",
				"config": map[string]any{
					"exchange":   "sluice.crashtest",
					"routingKey": "crash.done",
					"message":    map[string]any{"n": "{{ input.n }}", "runId": "{{ run.id }}"},
				},
			},
		},
	}
	b, err := json.Marshal(def)
	if err != nil {
		panic(err)
	}
	return b
}

// sluiceBin is the binary TestMain built.
var sluiceBin string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "sluice-crashtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "crashtest:", err)
		os.Exit(1)
	}
	race := raceEnabled
	if v := os.Getenv("SLUICE_CRASH_RACE"); v != "" {
		race, _ = strconv.ParseBool(v)
	}
	started := time.Now()
	sluiceBin, err = buildSluice(dir, race)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crashtest: build the sluice binary:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	if testing.Verbose() {
		fmt.Printf("crashtest: built %s (race=%v) in %s\n", sluiceBin, race, time.Since(started).Round(time.Millisecond))
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "crashtest: leaked goroutines:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// TestCrashRecovery starts `sluice serve` as a child process, fires
// webhooks at it and SIGKILLs it at random points, many times; a final
// start must finish every accepted run with every duplicate step execution
// accounted for. See the package documentation.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test kills a real server many times; skipped with -short")
	}
	t.Parallel()
	began := time.Now()

	seed := envUint(t, "SLUICE_CRASH_SEED", uint64(time.Now().UnixNano()))
	cycles := int(envUint(t, "SLUICE_CRASH_CYCLES", defaultCycles))
	t.Logf("seed %d, %d cycles (reproduce the schedule with SLUICE_CRASH_SEED=%d SLUICE_CRASH_CYCLES=%d)", seed, cycles, seed, cycles)
	rng := rand.New(rand.NewPCG(seed, 0xc4a54))

	dir := workDir(t)
	r := &rig{
		t:      t,
		cycles: cycles,
		rng:    rng,
		hc:     &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * senders}},
		ledger: &ledger{byKey: map[string]*start{}},
		down:   newDownstream(rng.Uint64(), downstreamFailRate, downstreamMaxDelay),
		children: childConfig{
			bin:    sluiceBin,
			dbPath: filepath.Join(dir, "crash.db"),
			logDir: dir,
		},
	}
	t.Cleanup(r.down.Close)
	t.Cleanup(r.hc.CloseIdleConnections)
	t.Cleanup(func() {
		if t.Failed() && r.last != nil {
			t.Logf("last server log (%s):\n%s", r.last.logPath, r.last.logTail(60))
		}
	})

	for cycle := range cycles {
		r.crashCycle(cycle)
	}
	final, api := r.finalPhase()
	r.verify(final, api)
	r.stats.runtime = time.Since(began)
	r.logSummary(cycles)
}

// rig is the state of one crash test.
type rig struct {
	t        *testing.T
	cycles   int
	rng      *rand.Rand // the kill schedule; used by the test goroutine only
	hc       *http.Client
	ledger   *ledger
	down     *downstream
	children childConfig
	started  int    // children started so far
	last     *child // the most recent child
	stats    stats
}

// stats are the numbers of the summary.
type stats struct {
	kills, startupKills int
	runtime             time.Duration
	// Filled by verify.
	runs, downstreamCalls, duplicateCalls, unavailable int
	failedCalls, interruptedCalls, interrupted         int
	maxCallsPerKey, maxAttempts                        int
}

func (r *rig) startChild() *child {
	ch := r.children.start(r.t, r.started)
	r.started++
	r.last = ch
	return ch
}

// crashCycle starts a server, loads it and kills it.
func (r *rig) crashCycle(cycle int) {
	t := r.t
	ch := r.startChild()
	if cycle > 0 && r.rng.Float64() < startupKillRate {
		after := randDuration(r.rng, 0, startupKillMax)
		r.killAfter(ch, after, nil)
		r.stats.startupKills++
		t.Logf("cycle %2d: killed during start-up after %s", cycle, after)
		return
	}
	base, err := ch.waitReady(r.hc, readyTimeout)
	if err != nil {
		t.Fatalf("cycle %d: %v\n%s", cycle, err, ch.logTail(40))
	}
	api := apiClient{hc: r.hc, base: base}
	if cycle == 0 {
		if err := api.putWorkflow(t.Context(), workflowID, workflowDefinition(r.down.URL(), r.cycles)); err != nil {
			t.Fatalf("store the workflow: %v", err)
		}
	}
	after := randDuration(r.rng, killEarliest, killLatest)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	queue := r.ledger.cycleQueue(maxWebhooksPerCycle)
	before := r.ledger.counts()
	for range senders {
		rng := rand.New(rand.NewPCG(r.rng.Uint64(), r.rng.Uint64()))
		wg.Go(func() { r.sender(ctx, api, queue, rng) })
	}
	r.killAfter(ch, after, func() {
		cancel()
		wg.Wait()
	})
	now := r.ledger.counts()
	t.Logf("cycle %2d: killed %s after ready; webhooks sent %d, accepted %d; keys awaiting a re-send %d",
		cycle, after, now.sent-before.sent, now.accepted-before.accepted, now.uncertain)
}

// killAfter SIGKILLs ch after d, then runs then (if set) once the process
// is gone. The child must still be running when the kill lands.
func (r *rig) killAfter(ch *child, d time.Duration, then func()) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		ch.kill()
		r.stats.kills++
		if then != nil {
			then()
		}
	case <-ch.exited:
		if then != nil {
			then()
		}
		r.t.Fatalf("sluice serve exited on its own (%v) before it was killed:\n%s", ch.waitErr, ch.logTail(40))
	}
}

// sender posts webhooks from queue until it is empty or ctx ends: first the
// keys whose earlier answers were lost, then new keys.
func (r *rig) sender(ctx context.Context, api apiClient, queue <-chan *start, rng *rand.Rand) {
	for ctx.Err() == nil {
		var s *start
		select {
		case s = <-queue:
		default:
			return
		}
		if s == nil {
			s = r.ledger.newStart()
		}
		r.ledger.record(r.t, s, api.webhook(ctx, triggerKey, s.key, s.body))
		pause := time.NewTimer(randDuration(rng, 0, maxSendPause))
		select {
		case <-ctx.Done():
		case <-pause.C:
		}
		pause.Stop()
	}
}

// finalPhase starts the server one last time, without kills, makes sure
// every start whose answer was lost is accepted and waits until every
// accepted run is terminal. It returns the running child and its client.
func (r *rig) finalPhase() (*child, apiClient) {
	t := r.t
	ch := r.startChild()
	base, err := ch.waitReady(r.hc, readyTimeout)
	if err != nil {
		t.Fatalf("final start: %v\n%s", err, ch.logTail(40))
	}
	api := apiClient{hc: r.hc, base: base}

	// A start that was in flight when a kill landed may or may not have
	// been stored; re-sending its key settles it either way.
	ctx, cancel := context.WithTimeout(t.Context(), readyTimeout)
	defer cancel()
	for _, s := range r.ledger.unaccepted() {
		poll(ctx, readyTimeout, 50*time.Millisecond, func() bool {
			ans := api.webhook(ctx, triggerKey, s.key, s.body)
			r.ledger.record(t, s, ans)
			return r.ledger.instanceOf(s) != "" || (ans.err == nil && ans.status/100 == 4)
		})
		if r.ledger.instanceOf(s) == "" {
			t.Fatalf("start with key %s was never accepted by the final server", s.key)
		}
	}

	accepted := r.ledger.acceptedRuns()
	t.Logf("final start: waiting for %d accepted runs to finish", len(accepted))
	var notDone []string
	ok := poll(t.Context(), drainTimeout, 100*time.Millisecond, func() bool {
		statuses, err := api.runStatuses(t.Context(), workflowID)
		if err != nil {
			t.Logf("list runs: %v", err)
			return false
		}
		notDone = notDone[:0]
		for id := range accepted {
			if st := statuses[id]; st != "completed" && st != "dead_lettered" && st != "cancelled" {
				notDone = append(notDone, id+" ("+cmp.Or(st, "missing")+")")
			}
		}
		return len(notDone) == 0
	})
	if !ok {
		var b strings.Builder
		for _, id := range notDone[:min(len(notDone), 5)] {
			id, _, _ = strings.Cut(id, " ")
			if in, err := api.instance(t.Context(), id); err == nil {
				b.WriteString(describeRun(in))
			}
		}
		t.Fatalf("%d of %d accepted runs did not finish within %s: %s\n%s",
			len(notDone), len(accepted), drainTimeout, strings.Join(notDone[:min(len(notDone), 20)], ", "), b.String())
	}
	return ch, api
}

// poll calls cond every interval until it reports true (true) or timeout
// passes (false). It observes the child process, which cannot signal.
func poll(ctx context.Context, timeout, interval time.Duration, cond func() bool) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if cond() {
			return true
		}
		select {
		case <-ctx.Done():
			return cond()
		case <-tick.C:
		}
	}
}

func (r *rig) logSummary(cycles int) {
	c := r.ledger.counts()
	s := r.stats
	r.t.Logf("summary: %d cycles, %d kills (%d during start-up); %d webhook requests for %d keys, %d accepted runs "+
		"(%d answers lost to kills, of which %d had been stored and %d had not); "+
		"downstream: %d calls, %d duplicates (%d re-runs after kills, %d retries after injected 503s; max %d calls for one key); "+
		"http step: %d failed and %d interrupted executions; %d interrupted executions in all steps; "+
		"highest attempt %d; runtime %s",
		cycles, s.kills, s.startupKills, c.sent, c.keys, s.runs,
		c.lostAnswers, c.storedUnanswered, c.lostAnswers-c.storedUnanswered,
		s.downstreamCalls, s.duplicateCalls, s.duplicateCalls-s.unavailable, s.unavailable, s.maxCallsPerKey,
		s.failedCalls, s.interruptedCalls, s.interrupted, s.maxAttempts, s.runtime.Round(time.Millisecond))
}

// workDir returns the directory for the database and the server logs: a
// test temp dir, or with SLUICE_CRASH_KEEP set a directory that outlives
// the test, for post-mortems.
func workDir(t *testing.T) string {
	if os.Getenv("SLUICE_CRASH_KEEP") == "" {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp("", "sluice-crashtest-keep-")
	if err != nil {
		t.Fatalf("create work dir: %v", err)
	}
	t.Logf("SLUICE_CRASH_KEEP: database and server logs are kept in %s", dir)
	return dir
}

// envUint reads a positive integer from the environment, or returns def.
func envUint(t *testing.T, name string, def uint64) uint64 {
	t.Helper()
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n == 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// randDuration returns a uniform duration in [lo, hi].
func randDuration(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rng.Int64N(int64(hi-lo)+1))
}
