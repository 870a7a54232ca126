package servers

import (
	"net"
	"testing"
	"time"

	"github.com/natlab/natlab/testbed/service"
)

func TestUDPEchoCountsFlows(t *testing.T) {
	s := start(t, service.Spec{Protocol: service.UDPEcho})
	var minPort, maxPort = 65535, 0
	for range 3 {
		c, err := net.Dial("udp", s.Addr().String())
		if err != nil {
			t.Fatalf("dial udp: %v", err)
		}
		t.Cleanup(func() { _ = c.Close() })
		p := c.LocalAddr().(*net.UDPAddr).Port
		minPort, maxPort = min(minPort, p), max(maxPort, p)
		for _, msg := range []string{"ping", "pong!"} {
			if got := echoOnce(t, c, msg); got != msg {
				t.Fatalf("udp echo = %q, want %q", got, msg)
			}
		}
	}
	st := s.Stats()
	if st.Accepted != 3 || st.Active != 3 || st.Requests != 6 || st.Bytes != 27 {
		t.Fatalf("udp stats: flows %d active %d requests %d bytes %d, want 3 3 6 27", st.Accepted, st.Active, st.Requests, st.Bytes)
	}
	if st.Peers.Distinct != 1 || int(st.Peers.MinPort) != minPort || int(st.Peers.MaxPort) != maxPort {
		t.Fatalf("peers = %+v, want one ip, ports %d-%d", st.Peers, minPort, maxPort)
	}
}

func TestUDPFlowIdleCountsAgain(t *testing.T) {
	var f udpFlows
	src := mustAddrPort("198.18.0.1:4000")
	t0 := time.Unix(1000, 0)
	steps := []struct {
		at      time.Duration
		wantNew bool
	}{
		{0, true},
		{time.Second, false},
		{time.Second + UDPFlowIdle, false},    // exactly idle: still the same flow
		{2*time.Second + 2*UDPFlowIdle, true}, // idle too long: a new flow
	}
	for i, st := range steps {
		if got := f.see(src, t0.Add(st.at)); got != st.wantNew {
			t.Fatalf("step %d: new flow = %v, want %v", i, got, st.wantNew)
		}
	}
	if n := f.active(t0.Add(3*time.Second + 3*UDPFlowIdle)); n != 0 {
		t.Fatalf("active long after = %d, want 0", n)
	}
}
