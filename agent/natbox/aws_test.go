package natbox

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/testbed/natcfg"
)

// awsConfig is an aws-nat-gateway config on natIP1 over ports, with a
// short control-loop period.
func awsConfig(ports portrange.Range, perDest int, idle time.Duration) natcfg.Config {
	return natcfg.Config{WAN: "wan0", Profile: natcfg.ProfileAWSNATGateway,
		Pools: []natcfg.Pool{{Name: "nat-gateway", Sources: []netip.Prefix{blockA, blockB}, IPs: []netip.Addr{natIP1}, Ports: ports}},
		AWS:   &natcfg.AWSConfig{MaxConnectionsPerDestination: perDest, IdleTimeout: idle, Interval: 50 * time.Millisecond}}
}

func awsMetrics(t *testing.T, m natcfg.Metrics) natcfg.AWSMetrics {
	t.Helper()
	if m.AWS == nil {
		t.Fatal("no aws-nat-gateway metrics")
	}
	return *m.AWS
}

// The cap, scaled down to 100 connections per NAT IP and destination:
// of 150 held to one destination exactly 100 connect, the other 50 are
// dropped before NAT and each counts once as ErrorPortAllocation (its
// SYN and the retransmit 1 s later are both dropped packets); another
// destination gets its own 100.
func TestAWSCapPerDestination(t *testing.T) {
	tp := newTopo(t)
	tp.listen(t, 8080)
	tp.listen(t, 8081)
	must(t, tp.box.Apply(awsConfig(cloudNATPorts, 100, 350*time.Second)), "apply")
	if n := len(tp.dialGiveUp(t, clientA, dests(8080, 150), 1500*time.Millisecond)); n != 100 {
		t.Errorf("%d of 150 connected to one destination, want 100", n)
	}
	a := awsMetrics(t, tp.metrics(t))
	if a.ErrorPortAllocation != 50 || a.ConnectionAttemptCount != 150 || a.ConnectionEstablishedCount != 100 || a.ActiveConnectionCount != 100 || a.IdleTimeoutCount != 0 {
		t.Errorf("after 150 to one destination: %+v, want 50 ErrorPortAllocation, 150 attempts, 100 established and active, no idle timeout", a)
	}
	// Each refused connection sent its SYN and, 1 s later, one
	// retransmit before the dialer gave up at 1.5 s; a loaded machine
	// may delay the retransmit past that, never add a third.
	if a.PacketsDropCount < 50 || a.PacketsDropCount > 100 {
		t.Errorf("PacketsDropCount %d, want 50 to 100 (one or two SYNs of each of 50 refused connections)", a.PacketsDropCount)
	}
	if n := len(tp.dialGiveUp(t, clientA, dests(8081, 100), 1500*time.Millisecond)); n != 100 {
		t.Errorf("%d of 100 connected to a second destination, want 100: the cap is per destination", n)
	}
	a = awsMetrics(t, tp.metrics(t))
	if a.ErrorPortAllocation != 50 || a.ConnectionEstablishedCount != 200 || a.ActiveConnectionCount != 200 {
		t.Errorf("after 100 more to a second destination: %+v, want ErrorPortAllocation still 50, 200 established and active", a)
	}
	if u := tp.metrics(t).IPUtilization[natIP1.String()]; u != 1.0 {
		t.Errorf("utilization %v, want 1: the first destination is at its cap", u)
	}
	// A re-apply keeps the rules as they were, the counts and the ct
	// count: the cap still holds.
	snap := tp.snapshot(t)
	must(t, tp.box.Apply(awsConfig(cloudNATPorts, 100, 350*time.Second)), "re-apply")
	if again := tp.snapshot(t); again != snap {
		t.Errorf("snapshot changed across a re-apply of the same config:\n%s\n---\n%s", snap, again)
	}
	if n := len(tp.dialGiveUp(t, clientA, dests(8080, 10), 1500*time.Millisecond)); n != 0 {
		t.Errorf("%d of 10 more connected to the full destination after a re-apply, want 0", n)
	}
	if a := awsMetrics(t, tp.metrics(t)); a.ErrorPortAllocation != 60 {
		t.Errorf("ErrorPortAllocation %d after a re-apply and 10 more refused, want 60", a.ErrorPortAllocation)
	}
}

// Two NAT IPs each carry the cap to one destination: the gateway takes
// them in turn, so of 250 held to one destination 200 connect, 100 from
// each IP, and 50 are refused.
func TestAWSCapPerNATIP(t *testing.T) {
	tp := newTopo(t)
	tp.listen(t, 8080)
	cfg := awsConfig(cloudNATPorts, 100, 350*time.Second)
	cfg.Pools[0].IPs = []netip.Addr{natIP1, natIP2}
	must(t, tp.box.Apply(cfg), "apply")
	if n := len(tp.dialGiveUp(t, clientA, dests(8080, 250), 1500*time.Millisecond)); n != 200 {
		t.Errorf("%d of 250 connected with two NAT IPs, want 200", n)
	}
	m := tp.metrics(t)
	if a := awsMetrics(t, m); a.ErrorPortAllocation != 50 || a.ActiveConnectionCount != 200 {
		t.Errorf("%+v, want 50 ErrorPortAllocation and 200 active connections", a)
	}
	per := map[netip.Addr]int{}
	for _, mp := range m.Mappings {
		per[mp.NATIP] += mp.Count
	}
	if per[natIP1] != 100 || per[natIP2] != 100 {
		t.Errorf("mappings per NAT IP %v, want 100 on each", per)
	}
}

// A port range of 64 ports holds 64 connections to one destination,
// below the cap: the 16 others are refused, as ErrorPortAllocation.
func TestAWSPortsRunOut(t *testing.T) {
	tp := newTopo(t)
	tp.listen(t, 8080)
	must(t, tp.box.Apply(awsConfig(portrange.Range{First: 1024, Last: 1087}, natcfg.AWSDefaultMaxConnectionsPerDestination, 350*time.Second)), "apply")
	if n := len(tp.dialGiveUp(t, clientA, dests(8080, 80), 1500*time.Millisecond)); n != 64 {
		t.Errorf("%d of 80 connected with 64 ports, want 64", n)
	}
	m := tp.metrics(t)
	if a := awsMetrics(t, m); a.ErrorPortAllocation != 16 || a.ActiveConnectionCount != 64 {
		t.Errorf("%+v, want 16 ErrorPortAllocation and 64 active connections", a)
	}
	if m.InsertFailed != 0 {
		t.Logf("insert_failed %d: SYNs that lost a race for a port between CPUs (their retransmits connected)", m.InsertFailed)
	}
}

// The idle timeout, scaled down to 3 s: of 10 connections, the 8 that
// stay idle are reset on both sides (the client's read fails with
// ECONNRESET without writing, the backend's too) and IdleTimeoutCount is
// exactly 8; the 2 that keep sending are not reset.
func TestAWSIdleTimeoutResetsBothSides(t *testing.T) {
	tp := newTopo(t)
	srv := tp.listen(t, 8080)
	must(t, tp.box.Apply(awsConfig(cloudNATPorts, 100, 3*time.Second)), "apply")
	fds := tp.dialGiveUp(t, clientA, dests(8080, 10), 3*time.Second)
	if len(fds) != 10 {
		t.Fatalf("%d of 10 connected, want 10", len(fds))
	}
	conns := make([]net.Conn, len(fds))
	for i, fd := range fds {
		conns[i] = fdConn(t, fd)
	}
	active, idle := conns[:2], conns[2:]
	stop := make(chan struct{})
	errc := make(chan error, len(active))
	var wg sync.WaitGroup
	for _, c := range active {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					errc <- nil
					return
				case <-time.After(300 * time.Millisecond):
				}
				if err := echo(c, "x"); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	tp.poll(t, 15*time.Second, "8 idle connections timed out", func(m natcfg.Metrics) bool {
		return m.AWS != nil && m.AWS.IdleTimeoutCount >= 8
	})
	for i, c := range idle {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := c.Read(make([]byte, 1))
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("idle connection %d: read %v, want ECONNRESET", i, err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for srv.count() < 8 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	// The active connections keep working past two more idle periods.
	time.Sleep(6 * time.Second)
	close(stop)
	wg.Wait()
	for range active {
		if err := <-errc; err != nil {
			t.Errorf("active connection: %v, want it to keep working", err)
		}
	}
	if n := srv.count(); n != 8 {
		t.Errorf("backend saw %d resets, want 8", n)
	}
	a := awsMetrics(t, tp.metrics(t))
	// PacketsDropCount: each client's answer to its probe, rejected with
	// the RST; nothing else was dropped.
	if a.IdleTimeoutCount != 8 || a.ActiveConnectionCount != 2 || a.PacketsDropCount != 8 || a.ErrorPortAllocation != 0 {
		t.Errorf("%+v, want IdleTimeoutCount 8, 2 active connections, 8 dropped packets, no ErrorPortAllocation", a)
	}
	if a.ControlError != "" {
		t.Errorf("control loop: %s", a.ControlError)
	}
}

// Leaving the profile leaves nothing of it: a linux config in its place
// has no aws_ chain, set or object, and Remove leaves no table.
func TestAWSProfileLeavesNothing(t *testing.T) {
	tp := newTopo(t)
	must(t, tp.box.Apply(awsConfig(cloudNATPorts, 100, 3*time.Second)), "apply aws")
	if snap := tp.snapshot(t); !strings.Contains(snap, "chain aws_out") || !strings.Contains(snap, "set aws_conns") {
		t.Fatalf("aws-nat-gateway snapshot lacks its chains and sets:\n%s", snap)
	}
	must(t, tp.box.Apply(onePool(ports256, natIP1)), "apply linux")
	if snap := tp.snapshot(t); strings.Contains(snap, "aws_") {
		t.Errorf("linux config after aws-nat-gateway still has aws_ state:\n%s", snap)
	}
	if m := tp.metrics(t); m.AWS != nil {
		t.Errorf("linux config reads NAT gateway metrics %+v", m.AWS)
	}
	must(t, tp.box.Remove(), "remove")
	if snap := tp.snapshot(t); snap != "" {
		t.Errorf("table left after Remove:\n%s", snap)
	}
}
