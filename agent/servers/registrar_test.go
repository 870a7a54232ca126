package servers

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/natlab/natlab/testbed/service"
)

// regResult is one POST /register outcome.
type regResult struct {
	code    int
	body    string
	elapsed time.Duration
}

// register posts n concurrent registrations and returns their outcomes.
func register(t *testing.T, c *http.Client, s *Server, n int) []regResult {
	t.Helper()
	out := make([]regResult, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			begin := time.Now()
			resp, err := c.Post(baseURL(s)+"/register", "application/json", strings.NewReader(`{"client":"c1"}`))
			if err != nil {
				t.Errorf("POST /register: %v", err)
				return
			}
			defer func() { _ = resp.Body.Close() }()
			b, _ := io.ReadAll(resp.Body)
			out[i] = regResult{resp.StatusCode, string(b), time.Since(begin)}
		})
	}
	wg.Wait()
	return out
}

func TestRegistrarVerifiesSource(t *testing.T) {
	t.Parallel()
	s := start(t, service.Spec{Protocol: service.Registrar})
	c := h1Client(t)
	_, local := whoamiLocal(t, c, baseURL(s))
	res := register(t, c, s, 1)[0]
	var got registration
	if err := json.Unmarshal([]byte(res.body), &got); err != nil || res.code != 200 {
		t.Fatalf("register = %d %q (%v), want 200 json", res.code, res.body, err)
	}
	if !got.Registered || got.Source != local {
		t.Fatalf("registration = %+v, want registered from %s", got, local)
	}
	if code, _ := get(t, c, baseURL(s)+"/register"); code != http.StatusMethodNotAllowed {
		t.Fatalf("GET /register = %d, want 405", code)
	}
	if r := s.Stats().Registrations; r.OK != 1 || r.FailedClosed != 0 {
		t.Fatalf("registrations %+v, want 1 ok", r)
	}
}

// TestRegistrarFailsClosedWhenSaturated is the holepunch incident: a slow,
// saturated dependency makes verification time out, and registration fails
// closed; reverting the saturation restores registration.
func TestRegistrarFailsClosedWhenSaturated(t *testing.T) {
	t.Parallel()
	s := start(t, service.Spec{Protocol: service.Registrar, VerifyTimeout: 3 * time.Second})
	c := h1Client(t)
	s.Saturate(1, 2*time.Second)
	res := register(t, c, s, 3)
	var ok, failed int
	for _, r := range res {
		switch {
		case r.code == 200 && r.elapsed >= 1900*time.Millisecond && r.elapsed < 2900*time.Millisecond:
			ok++
		case r.code == 503 && strings.Contains(r.body, FailClosedMessage) &&
			r.elapsed >= 2900*time.Millisecond && r.elapsed < 4500*time.Millisecond:
			failed++
		default:
			t.Errorf("registration: %d %q after %v", r.code, r.body, r.elapsed)
		}
	}
	if ok != 1 || failed != 2 {
		t.Fatalf("with limit 1, latency 2s, timeout 3s: %d ok %d failed closed, want 1 and 2 (%+v)", ok, failed, res)
	}
	st := s.Stats()
	if st.Registrations.OK != 1 || st.Registrations.FailedClosed != 2 || st.Status["5xx"] != 2 {
		t.Fatalf("stats: registrations %+v status %v", st.Registrations, st.Status)
	}
	if st.Dependency.Limit != 1 || st.Dependency.Latency != 2*time.Second || st.Dependency.TimedOut != 2 {
		t.Fatalf("dependency stats %+v", st.Dependency)
	}

	s.Saturate(0, 0)
	for _, r := range register(t, c, s, 10) {
		if r.code != 200 || r.elapsed > 500*time.Millisecond {
			t.Fatalf("after Saturate(0, 0): %d %q after %v, want 200 fast", r.code, r.body, r.elapsed)
		}
	}
}

// TestRegistrarDefaultTimeout: a dependency slower than the default 1 s
// verify timeout fails every registration closed after about 1 s, and a
// lookup whose caller gave up still occupies its slot.
func TestRegistrarDefaultTimeout(t *testing.T) {
	t.Parallel()
	s := start(t, service.Spec{Protocol: service.Registrar})
	c := h1Client(t)
	s.Saturate(1, 2*time.Second)
	r := register(t, c, s, 1)[0]
	if r.code != 503 || r.elapsed < 950*time.Millisecond || r.elapsed > 1500*time.Millisecond {
		t.Fatalf("register with a 2s dependency: %d %q after %v, want 503 after about 1s", r.code, r.body, r.elapsed)
	}
	if d := s.Stats().Dependency; d.InFlight != 1 {
		t.Fatalf("abandoned lookup: in flight %d, want 1 (the dependency is still busy with it)", d.InFlight)
	}
	if !eventually(3*time.Second, func() bool { return s.Stats().Dependency.InFlight == 0 }) {
		t.Fatal("abandoned lookup never released its slot")
	}
}

func TestSaturateUnlimitedWithLatency(t *testing.T) {
	t.Parallel()
	s := start(t, service.Spec{Protocol: service.Registrar})
	s.Saturate(0, 300*time.Millisecond)
	for _, r := range register(t, h1Client(t), s, 20) {
		if r.code != 200 || r.elapsed < 300*time.Millisecond || r.elapsed > 900*time.Millisecond {
			t.Fatalf("unlimited 300ms dependency: %d after %v, want 200 after about 300ms", r.code, r.elapsed)
		}
	}
}
