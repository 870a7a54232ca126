package servers

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/natlab/natlab/internal/holepunch"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed/service"
)

// udpSocket opens a connected UDP socket to s, closed at cleanup.
func udpSocket(t *testing.T, s *Server) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp", nil, s.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatalf("dial udp: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// listenUDP opens an unconnected UDP socket on loopback, closed at cleanup.
func listenUDP(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("listen udp: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func send(t *testing.T, c *net.UDPConn, m holepunch.Message) {
	t.Helper()
	if _, err := c.Write(m.Append(nil)); err != nil {
		t.Fatalf("send %c: %v", m.Type, err)
	}
}

// recv reads the next holepunch message on c within 5 s.
func recv(t *testing.T, c *net.UDPConn) (holepunch.Message, netip.AddrPort) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 256)
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	m, err := holepunch.Parse(buf[:n])
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return m, from
}

func addrOf(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

// A holepunch is looked up, probed back at the socket it came from, and
// registered once the probe is answered from that socket; the answer
// reports the source the service saw.
func TestRendezvousRegistersAVerifiedMapping(t *testing.T) {
	s := start(t, service.Spec{Protocol: service.Rendezvous, Dependency: service.Dependency{Concurrency: 1, Latency: 10 * time.Millisecond}})
	c := udpSocket(t, s)
	send(t, c, holepunch.Message{Type: holepunch.Punch, ID: 1, Client: addrOf(c)})
	probe, from := recv(t, c)
	if probe.Type != holepunch.Probe || probe.ID != 1 || from.Port() != s.Addr().(*net.UDPAddr).AddrPort().Port() {
		t.Fatalf("first answer = %+v from %s, want a probe of registration 1 from the service's port", probe, from)
	}
	send(t, c, holepunch.Message{Type: holepunch.Ack, ID: 1, Token: probe.Token})
	got, _ := recv(t, c)
	if got.Type != holepunch.Registered || got.ID != 1 || got.Observed != addrOf(c) {
		t.Fatalf("answer = %+v, want registered, observed %s", got, addrOf(c))
	}
	st := s.Stats()
	want := service.HolepunchStats{Requests: 1, Verified: 1, Registered: 1}
	if st.Holepunch != want || st.Registrations.OK != 1 || st.Dependency.Lookups != 1 || st.Dependency.PeakInFlight != 1 {
		t.Fatalf("stats = %+v, registrations %+v, dependency %+v; want %+v, one lookup", st.Holepunch, st.Registrations, st.Dependency, want)
	}
}

// The probe must be answered from the mapping it was sent to: an Ack
// from another socket, even with the right token, verifies nothing.
func TestRendezvousIgnoresAnAckFromAnotherSocket(t *testing.T) {
	s := start(t, service.Spec{Protocol: service.Rendezvous, VerifyTimeout: 200 * time.Millisecond})
	c, other := udpSocket(t, s), udpSocket(t, s)
	send(t, c, holepunch.Message{Type: holepunch.Punch, ID: 7, Client: addrOf(c)})
	probe, _ := recv(t, c)
	send(t, other, holepunch.Message{Type: holepunch.Ack, ID: 7, Token: probe.Token})
	got, _ := recv(t, c)
	if got.Type != holepunch.Refused || got.ID != 7 {
		t.Fatalf("answer = %+v, want refused", got)
	}
	if st := s.Stats().Holepunch; st.ProbeTimeouts != 1 || st.FailedClosed != 1 || st.Verified != 0 || st.FailedClients != 1 {
		t.Fatalf("stats = %+v, want one probe timeout, failed closed", st)
	}
}

// A client that claims a mapping other than the one it came from gets the
// claimed one probed: when nothing answers there, it is refused, and the
// refusal tells it the mapping the service saw.
func TestRendezvousVerifiesTheClaimedMapping(t *testing.T) {
	s := start(t, service.Spec{Protocol: service.Rendezvous, VerifyTimeout: 200 * time.Millisecond})
	c, stale := udpSocket(t, s), listenUDP(t)
	send(t, c, holepunch.Message{Type: holepunch.Punch, ID: 2, Client: addrOf(c), Claimed: addrOf(stale)})
	probe, _ := recv(t, stale)
	if probe.Type != holepunch.Probe || probe.ID != 2 {
		t.Fatalf("the claimed mapping got %+v, want the probe of registration 2", probe)
	}
	got, _ := recv(t, c)
	if got.Type != holepunch.Refused || got.Observed != addrOf(c) {
		t.Fatalf("answer = %+v, want refused, observed %s", got, addrOf(c))
	}
	send(t, c, holepunch.Message{Type: holepunch.Punch, ID: 3, Client: addrOf(c), Claimed: got.Observed})
	probe, _ = recv(t, c)
	send(t, c, holepunch.Message{Type: holepunch.Ack, ID: 3, Token: probe.Token})
	if got, _ = recv(t, c); got.Type != holepunch.Registered {
		t.Fatalf("after claiming the observed mapping: %+v, want registered", got)
	}
	st := s.Stats().Holepunch
	want := service.HolepunchStats{Requests: 2, Verified: 1, Registered: 1, FailedClosed: 1, ProbeTimeouts: 1, MappingChanged: 1, FailedClients: 1}
	if st != want {
		t.Fatalf("stats = %+v, want %+v", st, want)
	}
}

// loadgen's holepunch strategy against the service: with room in the
// dependency every redundant request is looked up, probed and registered,
// and the service's counts match the client's exactly.
func TestHolepunchStrategyRegistersEveryRedundantRequest(t *testing.T) {
	s := start(t, service.Spec{Protocol: service.Rendezvous, Dependency: service.Dependency{Concurrency: 8, Latency: 5 * time.Millisecond}})
	plan := loadgen.Plan{Target: s.Addr().String(),
		Strategy: loadgen.Strategy{Kind: loadgen.KindHolepunch, Redundancy: 3, Pool: loadgen.PoolKeepAlive, PoolSize: 2},
		Phases:   []loadgen.Phase{{Name: "p", Duration: 500 * time.Millisecond, Schedule: loadgen.Schedule{Kind: loadgen.ScheduleClosed, Concurrency: 2}}}}
	res, err := loadgen.Run(context.Background(), plan, nil)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	c := res.Total.Counts
	if c.Attempts == 0 || c.Of(loadgen.OutcomeOK) != c.Attempts || c.InFlight != 0 {
		t.Fatalf("counts = %+v, want every attempt registered", c)
	}
	st := s.Stats()
	if st.Holepunch.Requests != 3*c.Attempts || st.Holepunch.Registered != st.Holepunch.Requests ||
		st.Holepunch.Verified != st.Holepunch.Requests || st.Holepunch.InProgress != 0 || st.Dependency.Lookups != st.Holepunch.Requests {
		t.Fatalf("service %+v, dependency %+v: want 3 requests per registration (%d), all verified", st.Holepunch, st.Dependency, c.Attempts)
	}
	if st.Holepunch.MappingChanged != 0 || st.Dependency.PeakInFlight > 8 {
		t.Fatalf("service %+v, dependency %+v: no mapping changed, at most 8 lookups at once", st.Holepunch, st.Dependency)
	}
}

// With every lookup slower than the verify timeout, every request fails
// closed and the client counts each registration refused.
func TestHolepunchStrategyCountsFailedClosedAsRefused(t *testing.T) {
	s := start(t, service.Spec{Protocol: service.Rendezvous, VerifyTimeout: 50 * time.Millisecond,
		Dependency: service.Dependency{Concurrency: 1, Latency: 200 * time.Millisecond}})
	plan := loadgen.Plan{Target: s.Addr().String(), RequestTimeout: 2 * time.Second,
		Strategy: loadgen.Strategy{Kind: loadgen.KindHolepunch, Redundancy: 2},
		Phases:   []loadgen.Phase{{Name: "p", Duration: 300 * time.Millisecond, Schedule: loadgen.Schedule{Kind: loadgen.ScheduleClosed, Concurrency: 1}}}}
	res, err := loadgen.Run(context.Background(), plan, nil)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	c := res.Total.Counts
	if c.Attempts == 0 || c.Of(loadgen.OutcomeRefused) != c.Attempts {
		t.Fatalf("counts = %+v, want every attempt refused", c)
	}
	st := s.Stats().Holepunch
	if st.Requests != 2*c.Attempts || st.FailedClosed != st.Requests || st.DependencyTimeouts != st.Requests || st.Registered != 0 {
		t.Fatalf("service %+v: want %d requests, all failed closed in the dependency", st, 2*c.Attempts)
	}
}

// However hard the dependency is pressed, its in-use peak never passes
// its concurrency: a lookup leaves flight before its slot is handed on.
func TestDependencyPeakInUseStaysWithinTheLimit(t *testing.T) {
	var d dependency
	d.saturate(2, time.Millisecond)
	ctx := context.Background()
	done := make(chan struct{})
	for range 16 {
		go func() {
			for range 50 {
				_ = d.lookup(ctx, nil)
			}
			done <- struct{}{}
		}()
	}
	for range 16 {
		<-done
	}
	st := d.stats()
	if st.PeakInFlight != 2 || st.Lookups != 800 || st.PeakWaiting < 1 || st.PeakWaiting > 16 {
		t.Fatalf("dependency %+v: want peak in flight 2 of limit 2, 800 lookups, some waiting (at most the 16 callers: a waiter handed a slot counts until it runs)", st)
	}
	d.resetPeaks()
	if st := d.stats(); st.PeakInFlight != 0 || st.PeakWaiting != 0 {
		t.Fatalf("after resetPeaks at rest: %+v, want peaks 0", st)
	}
}

// A stall holds a holepunch back before its verification starts; it is
// verified after the stall and counted as stalled.
func TestRendezvousStallHoldsHolepunches(t *testing.T) {
	s := start(t, service.Spec{Protocol: service.Rendezvous})
	c := udpSocket(t, s)
	s.Stall(100 * time.Millisecond)
	send(t, c, holepunch.Message{Type: holepunch.Punch, ID: 1, Client: addrOf(c)})
	probe, _ := recv(t, c)
	send(t, c, holepunch.Message{Type: holepunch.Ack, ID: 1, Token: probe.Token})
	if got, _ := recv(t, c); got.Type != holepunch.Registered {
		t.Fatalf("answer = %+v, want registered after the stall", got)
	}
	if st := s.Stats(); st.Stalled != 1 || st.Holepunch.Registered != 1 {
		t.Fatalf("stalled %d, holepunch %+v: want 1 stalled, 1 registered", st.Stalled, st.Holepunch)
	}
}
