package servers

import (
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/natlab/natlab/testbed/service"
)

// timed runs fn and returns how long it took.
func timed(fn func()) time.Duration {
	begin := time.Now()
	fn()
	return time.Since(begin)
}

func TestStallHTTP(t *testing.T) {
	t.Parallel()
	for _, proto := range []service.Protocol{service.HTTP1, service.H2C} {
		t.Run(string(proto), func(t *testing.T) {
			t.Parallel()
			s := start(t, service.Spec{Protocol: proto})
			c := h1Client(t)
			if proto == service.H2C {
				c = h2cClient(t)
			}
			get(t, c, baseURL(s)+"/") // connection ready: only the stall is timed
			s.Stall(2 * time.Second)
			el := timed(func() {
				if code, _ := get(t, c, baseURL(s)+"/"); code != http.StatusOK {
					t.Errorf("stalled request answered %d", code)
				}
			})
			// A lower bound only: the stall holds the request at least its
			// 2 s; how much longer is the machine's pace.
			if el < 1900*time.Millisecond {
				t.Fatalf("request during Stall(2s) took %v, want about 2s", el)
			}
			// The stall is over: the next request is not held (the count
			// below says so, not a clock).
			get(t, c, baseURL(s)+"/")
			if st := s.Stats(); st.Stalled != 1 || st.Requests != 3 {
				t.Fatalf("stalled %d requests %d, want 1 and 3", st.Stalled, st.Requests)
			}
		})
	}
}

func TestStallEcho(t *testing.T) {
	t.Parallel()
	for _, proto := range []service.Protocol{service.TCPEcho, service.UDPEcho} {
		t.Run(string(proto), func(t *testing.T) {
			t.Parallel()
			s := start(t, service.Spec{Protocol: proto})
			c, err := net.Dial(proto.Network(), s.Addr().String())
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			t.Cleanup(func() { _ = c.Close() })
			echoOnce(t, c, "warm")
			s.Stall(time.Second)
			if el := timed(func() { echoOnce(t, c, "held") }); el < 900*time.Millisecond {
				t.Fatalf("echo during Stall(1s) took %v, want about 1s", el)
			}
			echoOnce(t, c, "after")
			if st := s.Stats(); st.Stalled != 1 {
				t.Fatalf("stalled %d, want 1: the echo after the stall is not held", st.Stalled)
			}
		})
	}
}

func TestStallEndsEarlyAndCanBeReplaced(t *testing.T) {
	t.Parallel()
	s := start(t, service.Spec{Protocol: service.HTTP1})
	c := h1Client(t)
	get(t, c, baseURL(s)+"/")
	s.Stall(time.Hour)
	go func() {
		time.Sleep(300 * time.Millisecond)
		s.Stall(0) // revert: end the stall now
	}()
	// Held until the revert, no sooner; had the revert not ended the stall
	// of an hour, the request would not have returned at all.
	if el := timed(func() { get(t, c, baseURL(s)+"/") }); el < 250*time.Millisecond {
		t.Fatalf("request under a stall ended after 300ms took %v", el)
	}
}
