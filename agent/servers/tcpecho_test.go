package servers

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/natlab/natlab/testbed/service"
)

func TestTCPEchoCountsConnections(t *testing.T) {
	s := start(t, service.Spec{Protocol: service.TCPEcho})
	var conns []net.Conn
	var minPort, maxPort uint16 = 65535, 0
	for i := range 10 {
		c := dial(t, s)
		conns = append(conns, c)
		if got := echoOnce(t, c, fmt.Sprintf("hello %d", i)); got != fmt.Sprintf("hello %d", i) {
			t.Fatalf("echo = %q", got)
		}
		p := c.LocalAddr().(*net.TCPAddr).AddrPort().Port()
		minPort, maxPort = min(minPort, p), max(maxPort, p)
	}
	st := s.Stats()
	if st.Accepted != 10 || st.Active != 10 || st.Requests != 10 || st.Bytes != 70 {
		t.Fatalf("stats after 10 echoes: accepted %d active %d requests %d bytes %d, want 10 10 10 70",
			st.Accepted, st.Active, st.Requests, st.Bytes)
	}
	if st.Peers.Distinct != 1 || st.Peers.IPs[0] != "127.0.0.1" || st.Peers.MinPort != minPort || st.Peers.MaxPort != maxPort {
		t.Fatalf("peers = %+v, want 127.0.0.1 ports %d-%d", st.Peers, minPort, maxPort)
	}
	for _, c := range conns[:4] {
		_ = c.Close()
	}
	if !eventually(5*time.Second, func() bool { return s.Stats().Active == 6 }) {
		t.Fatalf("active = %d after closing 4 of 10, want 6", s.Stats().Active)
	}
	if st := s.Stats(); st.Accepted != 10 {
		t.Fatalf("accepted = %d after closes, want 10 (it only grows)", st.Accepted)
	}
}

func TestTCPEchoManyMessagesOneConnection(t *testing.T) {
	s := start(t, service.Spec{Protocol: service.TCPEcho})
	c := dial(t, s)
	for i := range 100 {
		msg := fmt.Sprintf("message-%03d", i)
		if got := echoOnce(t, c, msg); got != msg {
			t.Fatalf("echo %d = %q", i, got)
		}
	}
	if st := s.Stats(); st.Accepted != 1 || st.Requests != 100 {
		t.Fatalf("accepted %d requests %d, want 1 and 100", st.Accepted, st.Requests)
	}
}

func TestPeersFromSeveralSourceIPs(t *testing.T) {
	s := start(t, service.Spec{Protocol: service.TCPEcho})
	for _, src := range []string{"127.0.0.3", "127.0.0.1", "127.0.0.2", "127.0.0.2"} {
		d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(src), 0))}
		c, err := d.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatalf("dial from %s: %v", src, err)
		}
		t.Cleanup(func() { _ = c.Close() })
		echoOnce(t, c, "x")
	}
	p := s.Stats().Peers
	if p.Distinct != 3 || fmt.Sprint(p.IPs) != "[127.0.0.1 127.0.0.2 127.0.0.3]" {
		t.Fatalf("peers = %+v, want 3 distinct 127.0.0.1-3", p)
	}
}

// TestTCPEchoThousandsOfConnections holds 5000 connections open at once,
// then closes them: every one is counted, and none is left tracked.
func TestTCPEchoThousandsOfConnections(t *testing.T) {
	const n = 5000
	s := start(t, service.Spec{Protocol: service.TCPEcho})
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})
	for i := range n {
		c, err := net.DialTimeout("tcp", s.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	if !eventually(10*time.Second, func() bool { return s.Stats().Active == n }) {
		t.Fatalf("active = %d, want %d", s.Stats().Active, n)
	}
	echoOnce(t, conns[n-1], "still serving")
	for _, c := range conns {
		_ = c.Close()
	}
	if !eventually(10*time.Second, func() bool { return s.Stats().Active == 0 }) {
		t.Fatalf("active = %d after closing all, want 0", s.Stats().Active)
	}
	s.tl.mu.Lock()
	left := len(s.tl.conns)
	s.tl.mu.Unlock()
	if st := s.Stats(); st.Accepted != n || left != 0 {
		t.Fatalf("accepted %d, tracked connections left %d; want %d and 0", st.Accepted, left, n)
	}
}

// A connection the client aborts with an RST counts as a peer reset; one
// it closes with a FIN does not.
func TestTCPEchoCountsPeerResets(t *testing.T) {
	s := start(t, service.Spec{Protocol: service.TCPEcho})
	for i, abort := range []bool{true, false, true} {
		c := dial(t, s)
		if got := echoOnce(t, c, "x"); got != "x" {
			t.Fatalf("echo %d = %q", i, got)
		}
		if abort {
			if err := c.(*net.TCPConn).SetLinger(0); err != nil {
				t.Fatal(err)
			}
		}
		_ = c.Close()
	}
	if !eventually(5*time.Second, func() bool { return s.Stats().Active == 0 }) {
		t.Fatalf("active = %d after closing all, want 0", s.Stats().Active)
	}
	if n := s.Stats().PeerResets; n != 2 {
		t.Errorf("peer resets %d, want 2 (the two aborted connections)", n)
	}
}
