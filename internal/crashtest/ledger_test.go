package crashtest

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
)

// ledger records every start request the test made and what came of it.
// A start is accepted once a request with its key was answered 2xx with an
// instance id; until then it is unaccepted and its key is sent again after
// the next restart.
type ledger struct {
	mu     sync.Mutex
	next   int64
	byKey  map[string]*start
	order  []*start
	sent   int // requests
	lost   int // starts whose first answer was lost to a kill
	stored int // of which a later request was answered "replayed": stored after all
}

// start is one start request (one idempotency key).
type start struct {
	key  string
	n    int64
	body []byte

	// Guarded by ledger.mu.
	sends      int
	instanceID string // set once accepted
}

// ledgerCounts is a snapshot of the ledger's counters.
type ledgerCounts struct {
	keys, sent, accepted, uncertain, lostAnswers, storedUnanswered int
}

func (l *ledger) newStart() *start {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.next
	l.next++
	s := &start{
		key:  fmt.Sprintf("crash-%06d", n),
		n:    n,
		body: fmt.Appendf(nil, `{"n":%d}`, n),
	}
	l.byKey[s.key] = s
	l.order = append(l.order, s)
	return s
}

// cycleQueue returns the work of one cycle: the unaccepted starts, then
// fresh nil slots that senders fill with new starts.
func (l *ledger) cycleQueue(fresh int) chan *start {
	old := l.unaccepted()
	q := make(chan *start, len(old)+fresh)
	for _, s := range old {
		q <- s
	}
	for range fresh {
		q <- nil
	}
	return q
}

// record books the answer to one request for s.
func (l *ledger) record(t *testing.T, s *start, ans webhookAnswer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent++
	s.sends++
	switch {
	case ans.err != nil && ans.status/100 == 2:
		t.Errorf("start %s: bad %d answer: %v", s.key, ans.status, ans.err)
	case ans.err != nil || ans.status >= 500:
		// No answer (the server died) or a server error: not accepted.
		if s.sends == 1 && s.instanceID == "" {
			l.lost++
		}
	case ans.status == http.StatusAccepted || ans.status == http.StatusOK:
		id := ans.result.InstanceID
		switch {
		case s.instanceID != "" && s.instanceID != id:
			t.Errorf("start %s: accepted as run %s, now answered run %s", s.key, s.instanceID, id)
		case s.instanceID != "":
			// Already accepted (a concurrent resend); nothing new.
		case s.sends == 1 && ans.replayed:
			t.Errorf("start %s: the first request with this key was answered as a replay of run %s", s.key, id)
			s.instanceID = id
		default:
			if s.sends > 1 && ans.replayed {
				l.stored++
			}
			s.instanceID = id
		}
		if ans.replayed != (ans.status == http.StatusOK) {
			t.Errorf("start %s: status %d with Idempotent-Replayed=%v", s.key, ans.status, ans.replayed)
		}
	default:
		t.Errorf("start %s: unexpected answer %d: %s", s.key, ans.status, ans.body)
	}
}

// instanceOf returns the instance id s was accepted as, or "".
func (l *ledger) instanceOf(s *start) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return s.instanceID
}

func (l *ledger) unaccepted() []*start {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*start
	for _, s := range l.order {
		if s.instanceID == "" {
			out = append(out, s)
		}
	}
	return out
}

// acceptedRuns maps the instance id of every accepted start to it.
func (l *ledger) acceptedRuns() map[string]*start {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]*start{}
	for _, s := range l.order {
		if s.instanceID != "" {
			out[s.instanceID] = s
		}
	}
	return out
}

func (l *ledger) starts() []*start {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.order)
}

func (l *ledger) counts() ledgerCounts {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := ledgerCounts{keys: len(l.order), sent: l.sent, lostAnswers: l.lost, storedUnanswered: l.stored}
	for _, s := range l.order {
		if s.instanceID != "" {
			c.accepted++
		} else {
			c.uncertain++
		}
	}
	return c
}
