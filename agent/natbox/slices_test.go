package natbox

import (
	"net/netip"
	"testing"
	"time"

	"github.com/natlab/natlab/testbed/natcfg"
)

func TestStaticSlicesOnKernel(t *testing.T) {
	tp := newTopo(t)
	srv := tp.listen(t, 8080)
	hostA, hostC := clientA, netip.MustParseAddr("198.18.200.3")
	unsliced := netip.MustParseAddr("198.18.200.4")
	slices, err := natcfg.StaticSlices([]netip.Addr{hostA, hostC}, []netip.Addr{natIP1}, ports256, 64)
	must(t, err, "static slices")
	cfg := natcfg.Config{WAN: "wan0", Pools: []natcfg.Pool{{Name: "static", Sources: []netip.Prefix{blockA}, IPs: []netip.Addr{natIP1}, Ports: ports256, Slices: slices}}}
	must(t, tp.box.Apply(cfg), "apply")

	ra := tp.dialMany(t, hostA, dests(8080, 80), 1500*time.Millisecond)
	// The slice is usable in full. Under load the kernel may, rarely,
	// replace the mapping of an established flow with a new one on the
	// same port (the old socket then looks connected but has no mapping),
	// so the live mappings below, not the sockets, are the slice's limit.
	if n := len(ra.connected); n < 64 || n > 66 {
		t.Fatalf("host with a 64-port slice: %d of 80 connected, want 64", n)
	}
	rc := tp.dialMany(t, hostC, dests(8080, 30), 1500*time.Millisecond)
	if len(rc.connected) != 30 {
		t.Fatalf("second host, own slice: %d of 30 connected while the first host's slice is full", len(rc.connected))
	}
	ru := tp.dialMany(t, unsliced, dests(8080, 3), 500*time.Millisecond)
	if len(ru.connected) != 0 {
		t.Errorf("host without a slice connected %d times, want none", len(ru.connected))
	}
	m := tp.metrics(t)
	if len(m.Mappings) != 1 || m.Mappings[0].Count != 94 {
		t.Fatalf("live mappings %+v, want 94: 64 of the full slice and 30 of the second host", m.Mappings)
	}
	if u := m.IPUtilization[natIP1.String()]; u != 94.0/128 {
		t.Errorf("utilization %v, want %v (94 of the 128 sliced ports)", u, 94.0/128)
	}
	waitFor(t, func() bool { return len(srv.seen()) >= 94 })
	inC := 0
	for _, p := range srv.seen() {
		a, c := slices[0].Ports, slices[1].Ports
		switch {
		case p.Port() >= c.First && p.Port() <= c.Last:
			inC++
		case p.Port() < a.First || p.Port() > a.Last:
			t.Errorf("a connection used NAT port %d, outside both slices %s and %s", p.Port(), a, c)
		}
	}
	if inC != 30 {
		t.Errorf("the second host's 30 connections used %d ports of its own slice", inC)
	}
}

func TestConnLimit(t *testing.T) {
	tp := newTopo(t)
	tp.listen(t, 8080)
	cfg := onePool(ports256, natIP1)
	cfg.ConnLimit = 50
	must(t, tp.box.Apply(cfg), "apply")
	r := tp.dialMany(t, clientA, dests(8080, 60), 1500*time.Millisecond)
	if len(r.connected) != 50 {
		t.Fatalf("conn limit 50: %d of 60 connected, want 50", len(r.connected))
	}
}
