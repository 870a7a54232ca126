package natbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/natlab/natlab/testbed/natcfg"
)

// Public backends of the EIM tests: backendIP and two more on b0.
var (
	backendIP2 = netip.MustParseAddr("198.19.200.101")
	backendIP3 = netip.MustParseAddr("198.19.200.102")
)

// udpWho starts, on each address, a UDP server in the backend ns that
// answers every datagram with the source it saw ("ip:port"), as a
// rendezvous server tells a client its public endpoint.
func (tp *topo) udpWho(t *testing.T, port uint16, addrs ...netip.Addr) []netip.AddrPort {
	t.Helper()
	h, err := netlink.NewHandleAt(tp.backend)
	must(t, err, "netlink handle in backend ns")
	defer h.Close()
	l, err := h.LinkByName("b0")
	must(t, err, "find b0")
	var out []netip.AddrPort
	for _, a := range addrs {
		if a != backendIP {
			addAddr(t, h, l, a.String()+"/24")
		}
		ap := netip.AddrPortFrom(a, port)
		var c *net.UDPConn
		must(t, inNS(tp.backend, func() (err error) {
			c, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(ap))
			return err
		}), "listen udp in backend ns")
		t.Cleanup(func() { _ = c.Close() })
		go func() {
			buf := make([]byte, 1500)
			for {
				_, src, err := c.ReadFromUDPAddrPort(buf)
				if err != nil {
					return
				}
				_, _ = c.WriteToUDPAddrPort([]byte(src.String()), src)
			}
		}()
		out = append(out, ap)
	}
	return out
}

// udpEndpoint is one internal ip:port of a VM: a UDP socket in the client
// ns bound to it.
type udpEndpoint struct{ c *net.UDPConn }

func (tp *topo) udpEndpoint(t *testing.T, src netip.AddrPort) *udpEndpoint {
	t.Helper()
	var c *net.UDPConn
	must(t, inNS(tp.client, func() (err error) {
		c, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(src))
		return err
	}), "bind udp "+src.String()+" in client ns")
	t.Cleanup(func() { _ = c.Close() })
	return &udpEndpoint{c: c}
}

// errNoAnswer is a datagram that got no answer within the wait.
var errNoAnswer = errors.New("no answer")

// ask sends one datagram to dst and returns the source dst saw, or
// errNoAnswer when none came back within wait.
func (e *udpEndpoint) ask(dst netip.AddrPort, wait time.Duration) (netip.AddrPort, error) {
	if _, err := e.c.WriteToUDPAddrPort([]byte("who"), dst); err != nil {
		return netip.AddrPort{}, fmt.Errorf("send to %s: %w", dst, err)
	}
	buf := make([]byte, 64)
	_ = e.c.SetReadDeadline(time.Now().Add(wait))
	for {
		n, from, err := e.c.ReadFromUDPAddrPort(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return netip.AddrPort{}, errNoAnswer
		}
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("read from %s: %w", dst, err)
		}
		if from != dst {
			continue // a late answer of an earlier datagram
		}
		return netip.ParseAddrPort(string(buf[:n]))
	}
}

// seen is ask that fails the test without an answer. Replies cross two
// veths in namespaces of one machine; a second is room for a loaded one,
// and a datagram the loaded machine lost (a full backlog) is sent again,
// three times at most: the flow is the same, so is its mapping.
func (e *udpEndpoint) seen(t *testing.T, dst netip.AddrPort) netip.AddrPort {
	t.Helper()
	var err error
	for range 3 {
		var ap netip.AddrPort
		if ap, err = e.ask(dst, time.Second); err == nil {
			return ap
		}
	}
	t.Fatalf("ask %s: %v", dst, err)
	return netip.AddrPort{}
}

// eimConfig is the gcp-cloud-nat config of one VM with 64 ports on
// natIP1 (1024-1087) and endpoint-independent mapping as given.
func eimConfig(t *testing.T, vm netip.Addr, eim bool) natcfg.Config {
	t.Helper()
	c := gcpConfig(t, []netip.Addr{vm}, cloudNATPorts, 64, 64, 120*time.Second)
	c.GCP.EndpointIndependentMapping = eim
	return c
}

func inBlock(ap netip.AddrPort) bool {
	return ap.Addr() == natIP1 && ap.Port() >= 1024 && ap.Port() <= 1087
}

// With EIM on, one internal ip:port reaches two (three) public backends
// from one NAT ip:port, and they all see it.
func TestGCPEIMOneMappingForEveryDestination(t *testing.T) {
	tp := newTopo(t)
	vm := tp.addVMs(t, 1)[0]
	dst := tp.udpWho(t, 3478, backendIP, backendIP2, backendIP3)
	must(t, tp.box.Apply(eimConfig(t, vm, true)), "apply")
	for _, sport := range []uint16{40000, 40001, 40002} {
		x := tp.udpEndpoint(t, netip.AddrPortFrom(vm, sport))
		first := x.seen(t, dst[0])
		if !inBlock(first) {
			t.Fatalf("%s:%d seen as %s, want the VM's block %s:1024-1087", vm, sport, first, natIP1)
		}
		for _, d := range dst[1:] {
			if got := x.seen(t, d); got != first {
				t.Errorf("%s:%d seen by %s as %s, by %s as %s: want one mapping for every destination", vm, sport, dst[0], first, d, got)
			}
		}
	}
	m := tp.metrics(t)
	if d := m.GCP.DroppedSent[natcfg.ReasonEndpointIndependenceConflict]; d != 0 {
		t.Errorf("%d ENDPOINT_INDEPENDENCE_CONFLICT drops without a conflict", d)
	}
	// 3 endpoints x 3 destinations: nine translated flows.
	if n := m.GCP.NewConnections; n != 9 {
		t.Errorf("new_connections_count %d, want 9", n)
	}
}

// A mapping EIM cannot keep: X (an ephemeral port outside the block) is
// mapped to N:q by its first flow; Z, the VM's port q itself, then keeps
// its port to a second backend (the kernel preserves a source port that
// is in range and free). X's flow to that backend must leave from N:q,
// which Z's flow holds there: every datagram of it is dropped and counted
// as ENDPOINT_INDEPENDENCE_CONFLICT, and Z's flow is not disturbed.
func TestGCPEIMConflictIsDroppedAndCounted(t *testing.T) {
	tp := newTopo(t)
	vm := tp.addVMs(t, 1)[0]
	dst := tp.udpWho(t, 3478, backendIP, backendIP2)
	must(t, tp.box.Apply(eimConfig(t, vm, true)), "apply")
	x := tp.udpEndpoint(t, netip.AddrPortFrom(vm, 40000))
	q := x.seen(t, dst[0])
	if !inBlock(q) {
		t.Fatalf("first mapping %s is not in the VM's block", q)
	}
	z := tp.udpEndpoint(t, netip.AddrPortFrom(vm, q.Port()))
	if got := z.seen(t, dst[1]); got != q {
		t.Fatalf("%s:%d seen as %s by %s, want its own port kept (%s)", vm, q.Port(), got, dst[1], q)
	}
	const tries = 5
	for i := range tries {
		got, err := x.ask(dst[1], 300*time.Millisecond)
		if !errors.Is(err, errNoAnswer) {
			t.Fatalf("datagram %d of the conflicting flow: seen as %s (%v), want it dropped", i, got, err)
		}
	}
	m := tp.metrics(t)
	if d := m.GCP.DroppedSent[natcfg.ReasonEndpointIndependenceConflict]; d != tries {
		t.Errorf("%d ENDPOINT_INDEPENDENCE_CONFLICT drops, want %d: one per datagram of the flow", d, tries)
	}
	if d := m.GCP.DroppedSent[natcfg.ReasonOutOfResources]; d != 0 {
		t.Errorf("%d OUT_OF_RESOURCES drops, want 0: the block has room", d)
	}
	// 2 translated flows; the conflicting one is no new connection.
	if n := m.GCP.NewConnections; n != 2 {
		t.Errorf("new_connections_count %d, want 2", n)
	}
	// Both live flows still answer from N:q.
	if got := z.seen(t, dst[1]); got != q {
		t.Errorf("Z seen as %s after the conflict, want %s", got, q)
	}
	if got := x.seen(t, dst[0]); got != q {
		t.Errorf("X seen as %s by its first backend after the conflict, want %s", got, q)
	}
}

// Without EIM, Linux SNAT (measured on this kernel): a second destination
// gets the port of the endpoint's live flow when that port is free towards
// it (nf_nat looks the endpoint's existing mapping up first), so far like
// EIM; when the port is taken towards that destination, the flow is
// silently given another port of the block and delivered, no drop; and
// once the endpoint's flows are gone its next flow draws a fresh port.
func TestGCPWithoutEIMLinuxRemaps(t *testing.T) {
	tp := newTopo(t)
	vm := tp.addVMs(t, 1)[0]
	dst := tp.udpWho(t, 3478, backendIP, backendIP2, backendIP3)
	must(t, tp.box.Apply(eimConfig(t, vm, false)), "apply")
	x := tp.udpEndpoint(t, netip.AddrPortFrom(vm, 40000))
	q := x.seen(t, dst[0])
	if !inBlock(q) {
		t.Fatalf("first mapping %s is not in the VM's block", q)
	}
	if got := x.seen(t, dst[1]); got != q {
		t.Errorf("second destination saw %s, want %s: Linux reuses a live flow's mapping when it is free", got, q)
	}
	z := tp.udpEndpoint(t, netip.AddrPortFrom(vm, q.Port()))
	if got := z.seen(t, dst[2]); got != q {
		t.Fatalf("%s:%d seen as %s by %s, want its own port kept (%s)", vm, q.Port(), got, dst[2], q)
	}
	got := x.seen(t, dst[2])
	if got == q || !inBlock(got) {
		t.Errorf("X towards the destination where N:q is taken: seen as %s, want another port of the block", got)
	}
	m := tp.metrics(t)
	for _, r := range natcfg.DropReasons {
		if d := m.GCP.DroppedSent[r]; d != 0 {
			t.Errorf("%d %s drops, want 0: Linux remaps silently", d, r)
		}
	}
	// Its flows gone (as when they time out), the endpoint's next flows
	// draw from the block: of 8 draws of 64 ports, all 8 landing on q
	// has a chance of 64^-8.
	fresh := 0
	for range 8 {
		_, err := tp.box.Flush(natcfg.FlushFilter{Origin: netip.PrefixFrom(vm, 32), Protocol: "udp"})
		must(t, err, "flush the VM's udp flows")
		if p := x.seen(t, dst[0]); p != q {
			fresh++
		}
	}
	if fresh == 0 {
		t.Errorf("8 new flows after the old ones were gone all got %s: want fresh draws", q)
	}
}

// Toggling EIM on a running box leaves established TCP connections alone
// (Cloud NAT: enabling or disabling it does not interrupt established
// connections): all 20 still echo after each change, none is reset, and
// UDP follows the new setting at once.
func TestGCPEIMToggleLiveKeepsConnections(t *testing.T) {
	tp := newTopo(t)
	tp.listen(t, 8080)
	vm := tp.addVMs(t, 1)[0]
	dst := tp.udpWho(t, 3478, backendIP, backendIP2, backendIP3)
	off, on := eimConfig(t, vm, false), eimConfig(t, vm, true)
	must(t, tp.box.Apply(off), "apply without EIM")
	const held = 20
	r := tp.dialMany(t, vm, dests(8080, held), 3*time.Second)
	if len(r.connected) != held {
		t.Fatalf("connected %d of %d", len(r.connected), held)
	}
	conns := make([]net.Conn, len(r.connected))
	for i, fd := range r.connected {
		conns[i] = fdConn(t, fd)
	}
	echoAll := func(stage string) int {
		broken := 0
		for i, c := range conns {
			if err := echo(c, fmt.Sprintf("%s-%d", stage, i)); err != nil {
				broken++
				t.Errorf("%s: connection %d: %v", stage, i, err)
			}
		}
		return broken
	}
	echoAll("before")
	entries := tp.metrics(t).ConntrackEntries
	snaps := map[bool]string{false: tp.snapshot(t)}
	for i, cfg := range []natcfg.Config{on, off, on} {
		eim := cfg.GCP.EndpointIndependentMapping
		stage := fmt.Sprintf("after toggle %d (eim %t)", i+1, eim)
		must(t, tp.box.Apply(cfg), stage)
		// The state read back is the config's: the same each time it is
		// applied, with the EIM sets exactly when EIM is on.
		snap := tp.snapshot(t)
		if want, ok := snaps[eim]; ok && snap != want {
			t.Errorf("%s: snapshot differs from the last time this config was applied:\n--- then\n%s\n--- now\n%s", stage, want, snap)
		}
		snaps[eim] = snap
		if has := strings.Contains(snap, "set "+setEIM+" ") && strings.Contains(snap, "set "+setEIMLive+" "); has != eim {
			t.Errorf("%s: EIM sets in the snapshot: %t, want %t", stage, has, eim)
		}
		if n := echoAll(stage); n != 0 {
			t.Fatalf("%s: %d of %d held connections broke, want 0", stage, n, held)
		}
		if m := tp.metrics(t); m.ConntrackEntries < entries {
			t.Errorf("%s: %d conntrack entries, want at least the %d held before", stage, m.ConntrackEntries, entries)
		}
	}
	// EIM is in force for new UDP flows after the last toggle.
	x := tp.udpEndpoint(t, netip.AddrPortFrom(vm, 41000))
	first := x.seen(t, dst[0])
	for _, d := range dst[1:] {
		if got := x.seen(t, d); got != first {
			t.Errorf("after toggling EIM on: seen as %s and %s", first, got)
		}
	}
	m := tp.metrics(t)
	if d := m.GCP.DroppedSent[natcfg.ReasonEndpointIndependenceConflict]; d != 0 {
		t.Errorf("%d ENDPOINT_INDEPENDENCE_CONFLICT drops across the toggles, want 0", d)
	}
	for _, c := range conns {
		_ = c.Close()
	}
}

// A re-apply that keeps EIM on keeps the mappings that still lie in their
// VM's block and drops those that do not: with min_ports_per_vm lowered
// from 128 to 64 (block 1024-1151 to 1024-1087), the mapping of vm:1100
// (its own port, kept by the kernel) goes, that of vm:1030 stays, and
// vm:1100's next flow is mapped inside the new block.
func TestGCPEIMReapplyDropsMappingsOutsideTheBlock(t *testing.T) {
	tp := newTopo(t)
	vm := tp.addVMs(t, 1)[0]
	dst := tp.udpWho(t, 3478, backendIP, backendIP2)
	wide := gcpConfig(t, []netip.Addr{vm}, cloudNATPorts, 128, 128, 120*time.Second)
	wide.GCP.EndpointIndependentMapping = true
	must(t, tp.box.Apply(wide), "apply 128 ports")
	in, out := tp.udpEndpoint(t, netip.AddrPortFrom(vm, 1030)), tp.udpEndpoint(t, netip.AddrPortFrom(vm, 1100))
	if got := in.seen(t, dst[0]); got != netip.AddrPortFrom(natIP1, 1030) {
		t.Fatalf("vm:1030 seen as %s, want its own port", got)
	}
	if got := out.seen(t, dst[0]); got != netip.AddrPortFrom(natIP1, 1100) {
		t.Fatalf("vm:1100 seen as %s, want its own port", got)
	}
	mappings := func() map[uint16]uint16 {
		t.Helper()
		elems, err := tp.box.b.nft.GetSetElements(eimSet(natTable()))
		must(t, err, "eim elements")
		m := map[uint16]uint16{}
		for _, el := range elems {
			m[binary.BigEndian.Uint16(el.Key[4:6])] = binary.BigEndian.Uint16(el.Val[4:6])
		}
		return m
	}
	if m := mappings(); m[1030] != 1030 || m[1100] != 1100 || len(m) != 2 {
		t.Fatalf("mappings %v, want 1030->1030 and 1100->1100", m)
	}
	must(t, tp.box.Apply(eimConfig(t, vm, true)), "apply 64 ports")
	if m := tp.metrics(t); m.GCP.AllocatorError != "" {
		t.Fatalf("apply: %s", m.GCP.AllocatorError)
	}
	if m := mappings(); m[1030] != 1030 || len(m) != 1 {
		t.Errorf("mappings after the block shrank: %v, want only 1030->1030", m)
	}
	if got := out.seen(t, dst[1]); !inBlock(got) {
		t.Errorf("vm:1100's next flow seen as %s, want a port of the new block 1024-1087", got)
	}
	if got := in.seen(t, dst[1]); got != netip.AddrPortFrom(natIP1, 1030) {
		t.Errorf("vm:1030's next flow seen as %s, want its kept mapping", got)
	}
}
