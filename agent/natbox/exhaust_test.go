package natbox

import (
	"net/netip"
	"testing"
	"time"

	"github.com/natlab/natlab/testbed/natcfg"
)

func TestExhaustionOneDestination(t *testing.T) {
	tp := newTopo(t)
	tp.listen(t, 8080)
	must(t, tp.box.Apply(onePool(ports256, natIP1)), "apply")
	before := tp.metrics(t)
	r := tp.dialMany(t, clientA, dests(8080, 300), 2500*time.Millisecond)
	if len(r.connected) != 256 || len(r.pending) != 44 {
		t.Fatalf("300 connects through 256 ports: %d connected, %d not; want 256 and 44", len(r.connected), len(r.pending))
	}
	m := tp.metrics(t)
	if m.AllocationFailures <= before.AllocationFailures {
		t.Errorf("allocation failures %d -> %d, want a rise", before.AllocationFailures, m.AllocationFailures)
	}
	want := natcfg.Mapping{NATIP: natIP1, Protocol: "tcp", Destination: netip.AddrPortFrom(backendIP, 8080), Count: 256}
	if len(m.Mappings) != 1 || m.Mappings[0] != want {
		t.Errorf("mappings %+v, want [%+v]", m.Mappings, want)
	}
	if u := m.IPUtilization[natIP1.String()]; u != 1.0 {
		t.Errorf("utilization of %s = %v, want 1.0", natIP1, u)
	}
	if u := m.PoolUtilization["main"]; u != 1.0 {
		t.Errorf("pool utilization = %v, want 1.0", u)
	}
	t.Logf("insert_failed=%d drop=%d early_drop=%d entries=%d", m.InsertFailed, m.Drop, m.EarlyDrop, m.ConntrackEntries)
}

func TestExhaustionIsPerDestination(t *testing.T) {
	tp := newTopo(t)
	tp.listen(t, 8080)
	tp.listen(t, 8081)
	must(t, tp.box.Apply(onePool(ports256, natIP1)), "apply")
	d := append(dests(8080, 150), dests(8081, 150)...)
	r := tp.dialMany(t, clientA, d, 3*time.Second)
	if len(r.connected) != 300 {
		t.Fatalf("300 connects to two destinations through 256 ports: %d connected, want 300", len(r.connected))
	}
	m := tp.metrics(t)
	if u := m.IPUtilization[natIP1.String()]; u != 150.0/256 {
		t.Errorf("utilization %v, want %v (150 of 256 per destination)", u, 150.0/256)
	}
}

func TestSeparatePoolsIsolateOriginBlocks(t *testing.T) {
	tp := newTopo(t)
	srv := tp.listen(t, 8080)
	cfg := natcfg.Config{WAN: "wan0", Pools: []natcfg.Pool{
		{Name: "a", Sources: []netip.Prefix{blockA}, IPs: []netip.Addr{natIP1}, Ports: ports256},
		{Name: "b", Sources: []netip.Prefix{blockB}, IPs: []netip.Addr{natIP2}, Ports: ports256},
	}}
	must(t, tp.box.Apply(cfg), "apply")
	ra := tp.dialMany(t, clientA, dests(8080, 300), 2500*time.Millisecond)
	if len(ra.connected) != 256 {
		t.Fatalf("block A: %d connected, want 256 (its pool exhausted)", len(ra.connected))
	}
	rb := tp.dialMany(t, clientB, dests(8080, 20), 2*time.Second)
	if len(rb.connected) != 20 {
		t.Fatalf("block B with its own pool: %d of 20 connected while pool a is exhausted", len(rb.connected))
	}
	waitFor(t, func() bool { return len(srv.seen()) == 276 })
	var fromB int
	for _, p := range srv.seen() {
		if p.Addr() == natIP2 {
			fromB++
		}
	}
	if fromB != 20 {
		t.Errorf("backend saw %d connections from pool b's NAT IP %s, want 20", fromB, natIP2)
	}
	m := tp.metrics(t)
	if m.PoolUtilization["a"] != 1.0 || m.PoolUtilization["b"] != 20.0/256 {
		t.Errorf("pool utilization %v, want a=1 b=%v", m.PoolUtilization, 20.0/256)
	}
}
