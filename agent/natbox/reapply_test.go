package natbox

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/testbed/natcfg"
)

func TestReapplyLiveKeepsFlowsAndReverts(t *testing.T) {
	tp := newTopo(t)
	tp.listen(t, 8080)
	first := onePool(ports256, natIP1)
	first.Hold = 120 * time.Second
	must(t, tp.box.Apply(first), "apply first")
	snap1 := tp.snapshot(t)
	if !strings.Contains(snap1, "chain post ") || !strings.Contains(snap1, "set held ") {
		t.Fatalf("snapshot lacks the post chain or held set:\n%s", snap1)
	}
	r := tp.dialMany(t, clientA, dests(8080, 10), 2*time.Second)
	if len(r.connected) != 10 {
		t.Fatalf("connected %d of 10", len(r.connected))
	}
	conns := make([]interface{ Close() error }, 0)
	for i, fd := range r.connected {
		c := fdConn(t, fd)
		if err := echo(c, fmt.Sprint("before-", i)); err != nil {
			t.Fatalf("echo before re-apply: %v", err)
		}
		conns = append(conns, c)
	}
	// Close three flows so the held set has elements to keep.
	closeFlows := tp.dialMany(t, clientA, dests(8080, 3), 2*time.Second)
	closeFlows.closeAll()
	waitFor(t, func() bool { return tp.metrics(t).HeldPorts >= 3 })
	held := tp.metrics(t).HeldPorts
	entries := tp.metrics(t).ConntrackEntries

	second := first
	second.Pools = []natcfg.Pool{{Name: "main", Sources: []netip.Prefix{blockA, blockB},
		IPs: []netip.Addr{natIP1, natIP5}, Ports: portrange.Range{First: 2000, Last: 2063}}}
	second.PortSelection = natcfg.PortSelectionFullyRandom
	second.Hold = 60 * time.Second
	must(t, tp.box.Apply(second), "apply second")
	snap2 := tp.snapshot(t)
	if snap2 == snap1 {
		t.Fatal("snapshot did not change with a new range")
	}
	for i, fd := range r.connected {
		if err := echo(fdConn(t, fd), fmt.Sprint("after-", i)); err != nil {
			t.Errorf("established flow %d broke after live re-apply: %v", i, err)
		}
	}
	m := tp.metrics(t)
	if m.HeldPorts != held {
		t.Errorf("held ports %d after re-apply, want %d kept", m.HeldPorts, held)
	}
	if m.ConntrackEntries < entries {
		t.Errorf("conntrack entries %d after re-apply, want at least %d", m.ConntrackEntries, entries)
	}
	// New flows use the new range on one of the two (scattered) NAT IPs.
	srv := tp.listen(t, 9090)
	nr := tp.dialMany(t, clientA, []netip.AddrPort{netip.AddrPortFrom(backendIP, 9090)}, 2*time.Second)
	if len(nr.connected) != 1 {
		t.Fatal("new flow after re-apply did not connect")
	}
	waitFor(t, func() bool { return len(srv.seen()) == 1 })
	if p := srv.seen()[0]; p.Port() < 2000 || p.Port() > 2063 || (p.Addr() != natIP1 && p.Addr() != natIP5) {
		t.Errorf("new flow came from %s, want %s or %s port 2000-2063", p, natIP1, natIP5)
	}

	must(t, tp.box.Apply(first), "re-apply first")
	if snap3 := tp.snapshot(t); snap3 != snap1 {
		t.Errorf("snapshot after revert differs:\n--- first\n%s\n--- reverted\n%s", snap1, snap3)
	}
	must(t, tp.box.Remove(), "remove")
	must(t, tp.box.Remove(), "remove again (idempotent)")
	if s := tp.snapshot(t); s != "" {
		t.Errorf("snapshot after remove = %q, want empty", s)
	}
	for _, c := range conns {
		_ = c.Close()
	}
}

func (tp *topo) snapshot(t *testing.T) string {
	t.Helper()
	s, err := tp.box.Snapshot()
	must(t, err, "snapshot")
	return s
}

func TestFlushFilter(t *testing.T) {
	tp := newTopo(t)
	tp.listen(t, 8080)
	tp.listen(t, 8081)
	must(t, tp.box.Apply(onePool(ports256, natIP1)), "apply")
	ra := tp.dialMany(t, clientA, dests(8080, 7), 2*time.Second)
	rb := tp.dialMany(t, clientB, dests(8081, 5), 2*time.Second)
	if len(ra.connected) != 7 || len(rb.connected) != 5 {
		t.Fatalf("connected %d+%d, want 7+5", len(ra.connected), len(rb.connected))
	}
	count := func(port uint16) int {
		n := 0
		for _, m := range tp.metrics(t).Mappings {
			if m.Destination.Port() == port {
				n += m.Count
			}
		}
		return n
	}
	if count(8080) != 7 || count(8081) != 5 {
		t.Fatalf("mappings before flush: %d to 8080, %d to 8081; want 7 and 5", count(8080), count(8081))
	}
	n, err := tp.box.Flush(natcfg.FlushFilter{DestPort: 8080, Protocol: "tcp"})
	must(t, err, "flush port 8080")
	if n != 7 {
		t.Errorf("flush port 8080 removed %d, want 7", n)
	}
	if count(8080) != 0 || count(8081) != 5 {
		t.Errorf("after flush: %d to 8080, %d to 8081; want 0 and 5", count(8080), count(8081))
	}
	n, err = tp.box.Flush(natcfg.FlushFilter{Origin: blockA})
	must(t, err, "flush origin A")
	if n != 0 || count(8081) != 5 {
		t.Errorf("flush of block A (already empty) removed %d, left %d of block B; want 0 and 5", n, count(8081))
	}
	n, err = tp.box.Flush(natcfg.FlushFilter{Protocol: "udp"})
	must(t, err, "flush udp")
	if n != 0 {
		t.Errorf("flush udp removed %d tcp flows", n)
	}
	n, err = tp.box.Flush(natcfg.FlushFilter{Origin: blockB, Destination: netip.PrefixFrom(backendIP, 32)})
	must(t, err, "flush origin B")
	if n != 5 || count(8081) != 0 {
		t.Errorf("flush of block B removed %d, %d left; want 5 and 0", n, count(8081))
	}
	if _, err := tp.box.Flush(natcfg.FlushFilter{Protocol: "sctp"}); err == nil || !strings.Contains(err.Error(), "sctp") {
		t.Errorf("flush with protocol sctp: %v, want an error naming it", err)
	}
}
