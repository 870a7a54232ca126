package natbox

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/ti-mo/conntrack"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/testbed/natcfg"
)

// cloudNATPorts is the range Cloud NAT offers on every NAT IP.
var cloudNATPorts = portrange.Range{First: 1024, Last: 65535}

// addVMs puts n more addresses on the client (198.18.200.10 on) and
// returns them: each is one VM of a gcp-cloud-nat config.
func (tp *topo) addVMs(t *testing.T, n int) []netip.Addr {
	t.Helper()
	h, err := netlink.NewHandleAt(tp.client)
	must(t, err, "netlink handle in client ns")
	defer h.Close()
	l, err := h.LinkByName("c0")
	must(t, err, "find c0")
	var out []netip.Addr
	for i := range n {
		a := netip.AddrFrom4([4]byte{198, 18, 200, byte(10 + i)})
		addAddr(t, h, l, a.String()+"/24")
		out = append(out, a)
	}
	return out
}

// gcpConfig is a gcp-cloud-nat config for vms on natIP1 over ports, with
// short allocator periods.
func gcpConfig(t *testing.T, vms []netip.Addr, ports portrange.Range, minPorts, maxPorts int, hold time.Duration) natcfg.Config {
	t.Helper()
	blocks, _, err := natcfg.GCPLayout(vms, []netip.Addr{natIP1}, ports, minPorts, maxPorts)
	must(t, err, "gcp layout")
	return natcfg.Config{WAN: "wan0", Hold: hold, Profile: natcfg.ProfileGCPCloudNAT,
		Pools: []natcfg.Pool{{Name: "cloud-nat", Sources: []netip.Prefix{blockA}, IPs: []netip.Addr{natIP1}, Ports: ports, Slices: blocks}},
		GCP: &natcfg.GCPConfig{MinPorts: minPorts, MaxPorts: maxPorts, DynamicPortAllocation: maxPorts > minPorts,
			EstablishedIdle: 1200 * time.Second, TransitoryIdle: 30 * time.Second, UDPIdle: 30 * time.Second,
			Interval: 50 * time.Millisecond, ShrinkAfter: 500 * time.Millisecond}}
}

// vmMetrics returns the reading of vm.
func vmMetrics(t *testing.T, m natcfg.Metrics, vm netip.Addr) natcfg.VMMetrics {
	t.Helper()
	if m.GCP == nil {
		t.Fatal("no gcp-cloud-nat metrics")
	}
	for _, v := range m.GCP.VMs {
		if v.VM == vm {
			return v
		}
	}
	t.Fatalf("no reading of VM %s", vm)
	return natcfg.VMMetrics{}
}

// dialGiveUp is dialMany that closes the connects still pending after
// wait at once (as a client's connect timeout does), so that no SYN is
// retransmitted after it; it returns the connected fds, closed at cleanup.
func (tp *topo) dialGiveUp(t *testing.T, src netip.Addr, dsts []netip.AddrPort, wait time.Duration) []int {
	t.Helper()
	var r dialResult
	must(t, inNS(tp.client, func() (err error) { r, err = dialBatch(src, dsts, wait); return err }), "dial batch")
	for _, fd := range r.pending {
		_ = unix.Close(fd)
	}
	t.Cleanup(func() {
		for _, fd := range r.connected {
			_ = unix.Close(fd)
		}
	})
	return r.connected
}

// poll waits up to d for cond, reading the metrics every 20ms.
func (tp *topo) poll(t *testing.T, d time.Duration, what string, cond func(natcfg.Metrics) bool) natcfg.Metrics {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		m := tp.metrics(t)
		if cond(m) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last reading %+v", what, d, m.GCP)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Two VMs with 64 ports each: each gets exactly 64 of 80 connections to
// one destination, the other 16 are dropped before NAT: each of their two
// SYNs (the first, and the retransmit 1 s later) counts as
// OUT_OF_RESOURCES for that VM. A third VM is idle: utilization is still
// 100%, Cloud NAT's port_usage over allocated_ports of the busiest VM,
// not the two thirds of the NAT IP's allocated ports in use. A re-apply
// keeps the counts.
func TestGCPBlocksPerVM(t *testing.T) {
	tp := newTopo(t)
	tp.listen(t, 8080)
	all := tp.addVMs(t, 3)
	vms, idle := all[:2], all[2]
	cfg := gcpConfig(t, all, cloudNATPorts, 64, 64, 120*time.Second)
	must(t, tp.box.Apply(cfg), "apply")
	for _, vm := range vms {
		if n := len(tp.dialGiveUp(t, vm, dests(8080, 80), 1500*time.Millisecond)); n != 64 {
			t.Errorf("VM %s: %d of 80 connected, want 64", vm, n)
		}
	}
	m := tp.metrics(t)
	for i, vm := range vms {
		v := vmMetrics(t, m, vm)
		want := natcfg.VMMetrics{VM: vm, NATIP: natIP1, Ports: portrange.Range{First: 1024 + uint16(i)*64, Last: 1087 + uint16(i)*64},
			AllocatedPorts: 64, PortUsage: 64, Dropped: 32}
		if v != want {
			t.Errorf("VM %s: %+v, want %+v", vm, v, want)
		}
	}
	g := m.GCP
	if g.DroppedSent[natcfg.ReasonOutOfResources] != 64 || g.NewConnections != 128 || g.OpenConnections != 128 || g.AllocationFailed {
		t.Errorf("gateway: %+v, want 64 OUT_OF_RESOURCES drops, 128 new and open connections, no allocation failure", g)
	}
	if v := vmMetrics(t, m, idle); v.AllocatedPorts != 64 || v.PortUsage != 0 {
		t.Errorf("idle VM %s: %+v, want 64 ports allocated, none used", idle, v)
	}
	if u, p := m.IPUtilization[natIP1.String()], m.PoolUtilization["cloud-nat"]; u != 1.0 || p != 1.0 {
		t.Errorf("utilization: NAT IP %v, gateway %v, want 1 and 1: two VMs' blocks are full", u, p)
	}
	snap := tp.snapshot(t)
	must(t, tp.box.Apply(cfg), "re-apply")
	if again := tp.snapshot(t); again != snap {
		t.Errorf("snapshot changed across a re-apply of the same config:\n%s\n---\n%s", snap, again)
	}
	after := tp.metrics(t).GCP
	if after.DroppedSent[natcfg.ReasonOutOfResources] != 64 || after.NewConnections != 128 || vmMetrics(t, tp.metrics(t), vms[0]).Dropped != 32 {
		t.Errorf("after a re-apply: %+v, want the counts kept", after)
	}
	// The counts of ct count survive too: the full blocks stay full.
	if n := len(tp.dialGiveUp(t, vms[0], dests(8080, 1), 300*time.Millisecond)); n != 0 {
		t.Errorf("a VM with a full block connected after a re-apply")
	}
}

// With dynamic port allocation a VM's block doubles in place when its
// usage to a destination reaches it, and halves again once the upper half
// is unused for ShrinkAfter (closed connections hold their ports for the
// TIME_WAIT hold first).
func TestGCPDynamicPortAllocationGrowsAndShrinks(t *testing.T) {
	tp := newTopo(t)
	tp.listen(t, 8080)
	vms := tp.addVMs(t, 1)
	must(t, tp.box.Apply(gcpConfig(t, vms, cloudNATPorts, 64, 128, 2*time.Second)), "apply")
	before := tp.metrics(t)
	fds := tp.dialGiveUp(t, vms[0], dests(8080, 100), 2500*time.Millisecond)
	if len(fds) != 100 {
		t.Fatalf("%d of 100 connected, want all: the block grows to 128", len(fds))
	}
	m := tp.metrics(t)
	v := vmMetrics(t, m, vms[0])
	if v.AllocatedPorts != 128 || v.Ports != (portrange.Range{First: 1024, Last: 1151}) || v.PortUsage != 100 || v.AllocationFailed {
		t.Errorf("grown VM: %+v, want 128 ports 1024-1151 in place, 100 used", v)
	}
	// A SYN that loses a port race between the two CPUs fails its
	// conntrack insert after the new-connection counter saw it; its
	// retransmit is counted again. So new == 100 + the insert_failed rise.
	raced := m.InsertFailed - before.InsertFailed
	if m.GCP.NewConnections != 100+raced || m.GCP.OpenConnections != 100 {
		t.Errorf("%d new (%d raced inserts), %d open connections, want 100+%d and 100: a dropped SYN is no connection",
			m.GCP.NewConnections, raced, m.GCP.OpenConnections, raced)
	}
	for _, fd := range fds {
		_ = unix.Shutdown(fd, unix.SHUT_RDWR)
	}
	start := time.Now()
	m = tp.poll(t, 10*time.Second, "shrink back to 64", func(m natcfg.Metrics) bool { return vmMetrics(t, m, vms[0]).AllocatedPorts == 64 })
	if took := time.Since(start); took < 2*time.Second {
		t.Errorf("shrank after %s, before the closed connections' 2s hold ended", took)
	}
	if v := vmMetrics(t, m, vms[0]); v.Ports != (portrange.Range{First: 1024, Last: 1087}) {
		t.Errorf("shrunk block %s, want 1024-1087", v.Ports)
	}
}

// A block can only double into ports no other VM has: once it cannot, the
// VM is flagged nat_allocation_failed and its excess is OUT_OF_RESOURCES.
func TestGCPAllocationFailsWithoutRoom(t *testing.T) {
	tp := newTopo(t)
	tp.listen(t, 8080)
	vms := tp.addVMs(t, 2)
	// 256 ports for two VMs: each has a 128-port slot, so a block of 64
	// grows to 128 and no further, though max is 256.
	must(t, tp.box.Apply(gcpConfig(t, vms, ports256, 64, 256, 120*time.Second)), "apply")
	if n := len(tp.dialGiveUp(t, vms[0], dests(8080, 150), 2500*time.Millisecond)); n != 128 {
		t.Fatalf("%d of 150 connected, want 128", n)
	}
	m := tp.poll(t, 2*time.Second, "allocation failure", func(m natcfg.Metrics) bool { return m.GCP.AllocationFailed })
	if v := vmMetrics(t, m, vms[0]); v.AllocatedPorts != 128 || !v.AllocationFailed {
		t.Errorf("VM at its slot: %+v, want 128 ports and the failure flagged", v)
	}
	if v := vmMetrics(t, m, vms[1]); v.AllocatedPorts != 64 || v.AllocationFailed {
		t.Errorf("the other VM: %+v, want its 64 ports and no failure", v)
	}
	if n := len(tp.dialGiveUp(t, vms[1], dests(8080, 10), 1500*time.Millisecond)); n != 10 {
		t.Errorf("the other VM connected %d of 10 beside the full one", n)
	}
}

// The idle timeouts are the conntrack timeouts of new flows.
func TestGCPTimeoutsAreConntrackTimeouts(t *testing.T) {
	tp := newTopo(t)
	tp.listen(t, 8080)
	vms := tp.addVMs(t, 1)
	cfg := gcpConfig(t, vms, cloudNATPorts, 64, 64, 120*time.Second)
	cfg.GCP.EstablishedIdle, cfg.GCP.UDPIdle = 600*time.Second, 17*time.Second
	must(t, tp.box.Apply(cfg), "apply")
	// The test needs one flow to read its timeout, not a fast connect: at
	// -p 4 a first SYN went unanswered within 1 s, so the connect gets
	// room for its retransmits (1 s apart, tcp_syn_linear_timeouts).
	if n := len(tp.dialGiveUp(t, vms[0], dests(8080, 1), 3500*time.Millisecond)); n != 1 {
		t.Fatalf("connected %d of 1", n)
	}
	must(t, inNS(tp.client, func() error {
		c, err := net.DialUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(vms[0], 0)), net.UDPAddrFromAddrPort(netip.AddrPortFrom(backendIP, 9999)))
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("x"))
		return err
	}), "udp datagram")
	var flows []conntrack.Flow
	var err error
	tp.box.b.mu.Lock()
	flows, err = tp.box.b.ct.Dump(nil)
	tp.box.b.mu.Unlock()
	must(t, err, "conntrack dump")
	var tcp, udp int
	for _, f := range flows {
		if f.TupleOrig.IP.SourceAddress != vms[0] {
			continue
		}
		switch f.TupleOrig.Proto.Protocol {
		case unix.IPPROTO_TCP:
			tcp++
			if f.Timeout > 600 || f.Timeout < 590 {
				t.Errorf("established flow times out in %ds, want tcp_established_idle 600s", f.Timeout)
			}
		case unix.IPPROTO_UDP:
			udp++
			if f.Timeout > 17 || f.Timeout < 10 {
				t.Errorf("udp flow times out in %ds, want udp_idle 17s", f.Timeout)
			}
		}
	}
	if tcp != 1 || udp != 1 {
		t.Errorf("%d tcp and %d udp flows of the VM, want 1 and 1", tcp, udp)
	}
}

// A VM's held ports are not given away: 64 connections opened and closed
// one after the other all get a port of the 64-port block, although from
// the 33rd on the kernel would evict a TIME_WAIT entry when the first half
// of its port search finds no free port (the pinner keeps it from doing
// so); the 65th finds every port held and is dropped as OUT_OF_RESOURCES.
func TestGCPHeldPortsAreNotEvicted(t *testing.T) {
	tp := newTopo(t)
	tp.listen(t, 8080)
	vms := tp.addVMs(t, 1)
	must(t, tp.box.Apply(gcpConfig(t, vms, cloudNATPorts, 64, 64, 120*time.Second)), "apply")
	for i := range 64 {
		// 2.5 s covers one SYN retransmit (at 1 s), so a connect slowed by
		// a loaded machine still completes; a SYN the hold rule dropped
		// would show in the OUT_OF_RESOURCES counter, asserted below.
		fds := tp.dialGiveUp(t, vms[0], dests(8080, 1), 2500*time.Millisecond)
		if len(fds) != 1 {
			t.Fatalf("connect %d of 64 failed with %d ports held", i+1, i)
		}
		_ = unix.Shutdown(fds[0], unix.SHUT_RDWR)
		// The pin follows conntrack's event of the close within a
		// moment; the next connect waits for it, so that the test does
		// not depend on that moment.
		tp.poll(t, 2*time.Second, "the closed flow held and pinned", func(m natcfg.Metrics) bool {
			return m.HeldPorts == i+1 && tp.pinned(t) == i+1
		})
	}
	// No SYN of the 64 was dropped: the kernel evicted no held entry to
	// hand its port out again (the drop would count here).
	if d := tp.metrics(t).GCP.DroppedSent[natcfg.ReasonOutOfResources]; d != 0 {
		t.Fatalf("%d SYNs dropped for want of a port while the block had room: a held port was given away", d)
	}
	// Under a second: one SYN, not retransmitted, is dropped.
	if n := len(tp.dialGiveUp(t, vms[0], dests(8080, 1), 500*time.Millisecond)); n != 0 {
		t.Fatal("a 65th connection got a port while all 64 are held")
	}
	m := tp.metrics(t)
	if d := m.GCP.DroppedSent[natcfg.ReasonOutOfResources]; d != 1 {
		t.Errorf("%d OUT_OF_RESOURCES drops, want 1: the 65th SYN", d)
	}
	if v := vmMetrics(t, m, vms[0]); v.PortUsage != 64 {
		t.Errorf("port usage %d, want 64 held", v.PortUsage)
	}
}

// pinned counts the conntrack entries the kernel may not evict.
func (tp *topo) pinned(t *testing.T) int { return tp.pinState(t).pinned }
