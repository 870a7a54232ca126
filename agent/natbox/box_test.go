package natbox

import (
	"testing"
	"time"
)

func TestApplySNATSourceFromPool(t *testing.T) {
	tp := newTopo(t)
	srv := tp.listen(t, 8080)
	must(t, tp.box.Apply(onePool(ports256, natIP1)), "apply")
	r := tp.dialMany(t, clientA, dests(8080, 5), 2*time.Second)
	if len(r.connected) != 5 {
		t.Fatalf("connected %d of 5 through the NAT", len(r.connected))
	}
	waitFor(t, func() bool { return len(srv.seen()) == 5 })
	for _, p := range srv.seen() {
		if p.Addr() != natIP1 {
			t.Errorf("backend saw source %s, want NAT IP %s", p, natIP1)
		}
		if p.Port() < ports256.First || p.Port() > ports256.Last {
			t.Errorf("backend saw source port %d, outside %s", p.Port(), ports256)
		}
	}
	if err := echo(fdConn(t, r.connected[0]), "hello"); err != nil {
		t.Errorf("echo through NAT: %v", err)
	}
	m := tp.metrics(t)
	if !m.IPForward {
		t.Error("metrics: ip_forward reported off, it is on")
	}
	if m.ForwardedPackets == 0 {
		t.Error("metrics: forwarded packets 0 after traffic")
	}
	if m.ConntrackEntries < 5 {
		t.Errorf("metrics: %d conntrack entries, want at least 5", m.ConntrackEntries)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 3s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
