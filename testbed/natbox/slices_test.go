package natbox

import (
	"net/netip"
	"testing"
	"time"
)

func TestStaticSlicesOnKernel(t *testing.T) {
	tp := newTopo(t)
	srv := tp.listen(t, 8080)
	hostA, hostC := clientA, netip.MustParseAddr("198.18.200.3")
	unsliced := netip.MustParseAddr("198.18.200.4")
	slices, err := StaticSlices([]netip.Addr{hostA, hostC}, []netip.Addr{natIP1}, ports256, 64)
	must(t, err, "static slices")
	cfg := Config{WAN: "wan0", Pools: []Pool{{Name: "static", Sources: []netip.Prefix{blockA}, IPs: []netip.Addr{natIP1}, Ports: ports256, Slices: slices}}}
	must(t, tp.box.Apply(cfg), "apply")

	ra := tp.dialMany(t, hostA, dests(8080, 80), 1500*time.Millisecond)
	if len(ra.connected) != 64 {
		t.Fatalf("host with a 64-port slice: %d of 80 connected, want 64", len(ra.connected))
	}
	rc := tp.dialMany(t, hostC, dests(8080, 30), 1500*time.Millisecond)
	if len(rc.connected) != 30 {
		t.Fatalf("second host, own slice: %d of 30 connected while the first host's slice is full", len(rc.connected))
	}
	ru := tp.dialMany(t, unsliced, dests(8080, 3), 500*time.Millisecond)
	if len(ru.connected) != 0 {
		t.Errorf("host without a slice connected %d times, want none", len(ru.connected))
	}
	waitFor(t, func() bool { return len(srv.seen()) == 94 })
	for i, p := range srv.seen() {
		s := slices[0].Ports
		if i >= 64 {
			s = slices[1].Ports
		}
		if p.Port() < s.First || p.Port() > s.Last {
			t.Errorf("connection %d used NAT port %d, outside its host's slice %s", i, p.Port(), s)
		}
	}
	m := tp.metrics(t)
	if u := m.IPUtilization[natIP1.String()]; u != 94.0/128 {
		t.Errorf("utilization %v, want %v (94 of the 128 sliced ports)", u, 94.0/128)
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
