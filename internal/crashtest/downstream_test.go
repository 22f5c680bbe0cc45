package crashtest

import (
	"encoding/json"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"time"
)

// downstream is the HTTP service the workflow's http step calls. It counts
// the requests per Idempotency-Key, answers after a random delay (so that
// kills land while the step is in flight) and sometimes answers 503 (so
// that the step retries).
type downstream struct {
	srv *httptest.Server

	mu       sync.Mutex
	rng      *rand.Rand
	failRate float64
	maxDelay time.Duration
	keys     map[string]*keyCalls
	noKey    int // requests without an Idempotency-Key header
}

// keyCalls is what the downstream saw for one idempotency key.
type keyCalls struct {
	calls       int             // requests received (answered or not)
	unavailable int             // of which answered 503
	runIDs      map[string]bool // runId fields of the request bodies
	ns          map[int64]bool  // n fields of the request bodies
	bad         []string        // bodies that did not decode
}

// downstreamBody is the request body the workflow's http step sends.
type downstreamBody struct {
	N     *int64 `json:"n"`
	RunID string `json:"runId"`
}

func newDownstream(seed uint64, failRate float64, maxDelay time.Duration) *downstream {
	d := &downstream{
		rng:      rand.New(rand.NewPCG(seed, seed^0x5eed)),
		failRate: failRate,
		maxDelay: maxDelay,
		keys:     map[string]*keyCalls{},
	}
	d.srv = httptest.NewServer(http.HandlerFunc(d.serve))
	return d
}

func (d *downstream) URL() string { return d.srv.URL }

func (d *downstream) Close() { d.srv.Close() }

func (d *downstream) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	var body downstreamBody
	decodeErr := json.Unmarshal(raw, &body)
	key := r.Header.Get("Idempotency-Key")

	d.mu.Lock()
	if key == "" {
		d.noKey++
	}
	kc := d.keys[key]
	if kc == nil {
		kc = &keyCalls{runIDs: map[string]bool{}, ns: map[int64]bool{}}
		d.keys[key] = kc
	}
	kc.calls++
	switch {
	case decodeErr != nil || body.N == nil || body.RunID == "":
		kc.bad = append(kc.bad, string(raw))
	default:
		kc.ns[*body.N] = true
		kc.runIDs[body.RunID] = true
	}
	fail := d.rng.Float64() < d.failRate
	if fail {
		kc.unavailable++
	}
	delay := time.Duration(d.rng.Int64N(int64(d.maxDelay) + 1))
	d.mu.Unlock()

	// Simulated work; the server may be killed meanwhile.
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-r.Context().Done():
		return
	}
	if fail {
		http.Error(w, "downstream unavailable (injected)", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "n": body.N})
}

// snapshot returns a copy of the per-key counts.
func (d *downstream) snapshot() (keys map[string]keyCalls, noKey int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	keys = make(map[string]keyCalls, len(d.keys))
	for k, v := range d.keys {
		c := *v
		c.runIDs = maps.Clone(v.runIDs)
		c.ns = maps.Clone(v.ns)
		c.bad = slices.Clone(v.bad)
		keys[k] = c
	}
	return keys, d.noKey
}
