package natbox

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/ti-mo/conntrack"
	"golang.org/x/sys/unix"

	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/testbed/natcfg"
)

// gcpProfile is Google Cloud NAT (docs/nat-profiles.md says which public
// documentation each behaviour follows). In the kernel:
//
//   - each VM (client address) has one block of ports on one NAT IP: a map
//     vmports from address to NAT IP . port range, used by one SNAT rule;
//   - before NAT, a VM's new flows to one destination ip:port:proto are
//     counted with `ct count` against its block size, and those over it
//     are dropped into the out_of_resources counter (OUT_OF_RESOURCES):
//     the VM is out of ports even when the NAT IP has free ones;
//   - a closed flow's tuple is held for tcp_time_wait_timeout_sec (the
//     held set of the linux profile's hold), a SYN that lands on it is
//     dropped into the same counter;
//   - the idle timeouts are ct timeout policies given to every new flow;
//   - with dynamic port allocation, a control loop (the service's control
//     plane) doubles a VM's block in place when its usage to some
//     destination reaches it, up to max_ports_per_vm, and halves it again
//     when unused; a change is one transaction that deletes and re-adds
//     the VM's elements of vmports and vmsize.
type gcpProfile struct{}

// Names of the gcp-cloud-nat profile's nftables objects.
const (
	setVMPorts    = "vmports" // VM -> NAT IP . first port . NAT IP . last port
	setVMSize     = "vmsize"  // VM -> jump to the oor chain of its block size
	setOORVM      = "oor_vm"  // per-VM OUT_OF_RESOURCES counters
	setWaiting    = "waiting" // VMs without a block (nat_allocation_failed)
	setConnsPre   = "conns_"  // + size: ct count of VM . proto . dst . dport
	chainOORPre   = "oor_"    // + size: the out-of-resources check
	counterOOR    = "out_of_resources"
	counterNew    = "new_conns"
	gcpTimeoutPre = "gcp_"
)

// conntrack status bits (include/uapi/linux/netfilter/nf_conntrack_common.h).
const (
	ipsConfirmed = 1 << 3
	ipsSrcNAT    = 1 << 4
)

// gcpSizes are the block sizes a VM may have: powers of two from the
// minimum to the maximum, the largest block one NAT IP's range can hold.
func gcpSizes(c natcfg.Config) []int {
	g := c.GCP
	top := min(g.MaxPorts, natcfg.MaxBlock(c.Pools[0].Ports.Size()))
	var out []int
	for s := g.MinPorts; s <= top; s *= 2 {
		out = append(out, s)
	}
	return out
}

func connsSet(t *nftables.Table, size int) *nftables.Set {
	key, _ := nftables.ConcatSetType(nftables.TypeIPAddr, nftables.TypeInetProto, nftables.TypeIPAddr, nftables.TypeInetService)
	return &nftables.Set{Table: t, Name: setConnsPre + itoa(size), KeyType: key, Concatenation: true, Dynamic: true, Size: 65535}
}

func vmPortsSet(t *nftables.Table) *nftables.Set {
	data, _ := nftables.ConcatSetType(nftables.TypeIPAddr, nftables.TypeInetService, nftables.TypeIPAddr, nftables.TypeInetService)
	return &nftables.Set{Table: t, Name: setVMPorts, IsMap: true, KeyType: nftables.TypeIPAddr, DataType: data}
}

func waitingSet(t *nftables.Table) *nftables.Set {
	return &nftables.Set{Table: t, Name: setWaiting, KeyType: nftables.TypeIPAddr}
}

func addrElems(addrs []netip.Addr) []nftables.SetElement {
	out := make([]nftables.SetElement, 0, len(addrs))
	for _, a := range addrs {
		k := a.As4()
		out = append(out, nftables.SetElement{Key: k[:]})
	}
	return out
}

func vmSizeSet(t *nftables.Table) *nftables.Set {
	return &nftables.Set{Table: t, Name: setVMSize, IsMap: true, KeyType: nftables.TypeIPAddr, DataType: nftables.TypeVerdict}
}

func oorVMSet(t *nftables.Table) *nftables.Set {
	return &nftables.Set{Table: t, Name: setOORVM, KeyType: nftables.TypeIPAddr, Dynamic: true, Size: 65535}
}

// vmPortsElem maps vm to its block: the 16 bytes the SNAT rule reads as
// address min, port min, address max, port max (4 bytes each).
func vmPortsElem(vm, ip netip.Addr, r portrange.Range) nftables.SetElement {
	k, a := vm.As4(), ip.As4()
	v := make([]byte, 16)
	copy(v[0:4], a[:])
	binary.BigEndian.PutUint16(v[4:6], r.First)
	copy(v[8:12], a[:])
	binary.BigEndian.PutUint16(v[12:14], r.Last)
	return nftables.SetElement{Key: k[:], Val: v}
}

func vmSizeElem(vm netip.Addr, size int) nftables.SetElement {
	k := vm.As4()
	return nftables.SetElement{Key: k[:], VerdictData: &expr.Verdict{Kind: expr.VerdictJump, Chain: chainOORPre + itoa(size)}}
}

func (gcpProfile) build(c natcfg.Config, t *nftables.Table, chs map[string]*nftables.Chain) *plan {
	g := c.GCP
	pool := c.Pools[0]
	p := &plan{}
	add := func(ch *nftables.Chain, e ...expr.Any) { p.add(t, ch, e...) }

	oor := &nftables.NamedObj{Table: t, Name: counterOOR, Type: nftables.ObjTypeCounter, Obj: &expr.Counter{}}
	newConns := &nftables.NamedObj{Table: t, Name: counterNew, Type: nftables.ObjTypeCounter, Obj: &expr.Counter{}}
	secs := func(d time.Duration) uint32 { return uint32((d + time.Second - 1) / time.Second) }
	tw, est, tr := secs(c.Hold), secs(g.EstablishedIdle), secs(g.TransitoryIdle)
	// The hold and the TIME_WAIT entry end together: a port is free in
	// conntrack once it is no longer held, so the kernel hands out a
	// released port rather than evicting a held one.
	tcpPol := holdTimeout(t, fmt.Sprintf("%stcp_tw%d_est%d_tr%d", gcpTimeoutPre, tw, est, tr), unix.IPPROTO_TCP, map[uint16]uint32{
		expr.CtStateTCPSYNSENT: tr, expr.CtStateTCPSYNRECV: tr, expr.CtStateTCPSYNSENT2: tr,
		expr.CtStateTCPFINWAIT: tr, expr.CtStateTCPCLOSEWAIT: tr, expr.CtStateTCPLASTACK: tr,
		expr.CtStateTCPESTABLISHED: est,
		expr.CtStateTCPRETRANS:     min(est, libTCPTimeouts[expr.CtStateTCPRETRANS]),
		expr.CtStateTCPUNACK:       min(est, libTCPTimeouts[expr.CtStateTCPUNACK]),
		expr.CtStateTCPTIMEWAIT:    tw, expr.CtStateTCPCLOSE: tw,
	})
	udp := secs(g.UDPIdle)
	udpPol := holdTimeout(t, fmt.Sprintf("%sudp%d", gcpTimeoutPre, udp), unix.IPPROTO_UDP, map[uint16]uint32{
		expr.CtStateUDPUNREPLIED: udp, expr.CtStateUDPREPLIED: udp,
	})
	p.objects = append(p.objects, oor, newConns, tcpPol, udpPol)
	eimPlan(c, t, p)

	sizes := gcpSizes(c)
	var ports, sizeOf []nftables.SetElement
	for _, s := range pool.Slices {
		ports = append(ports, vmPortsElem(s.Source, s.IP, s.Ports))
		sizeOf = append(sizeOf, vmSizeElem(s.Source, g.MinPorts))
	}
	p.sets = append(p.sets,
		namedSet{set: vmPortsSet(t), elems: ports},
		namedSet{set: vmSizeSet(t), elems: sizeOf},
		namedSet{set: oorVMSet(t), keep: true},
		namedSet{set: waitingSet(t), elems: addrElems(g.Waiting)})
	for _, s := range sizes {
		p.sets = append(p.sets, namedSet{set: connsSet(t, s), keep: true})
	}

	// SNAT: each VM to its block (a mapped endpoint to its mapping).
	add(chs[chainPost], onlyTCPUDP()...)
	if r := eimSNAT(c); r != nil {
		add(chs[chainPost], r...)
	}
	add(chs[chainPost], append(matchOif(c.WAN),
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Lookup{SourceRegister: reg1, DestRegister: reg1, IsDestRegSet: true, SetName: setVMPorts},
		gcpSNAT(c))...)
	for _, src := range sortedPrefixes(pool.Sources) {
		// An address that is no VM of the config has no ports.
		add(chs[chainPost], append(append(matchSource(src), matchOif(c.WAN)...), &expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop})...)
	}

	// Before NAT: the first packet of a VM's flow jumps to the check of
	// its block size. Every check counts the flow in the sets of every
	// size, so that a VM whose block grows is already counted right.
	add(chs[chainFwd], &expr.Counter{})
	if c.ConnLimit > 0 {
		add(chs[chainFwd], append(ctNew(),
			&expr.Connlimit{Count: uint32(c.ConnLimit), Flags: connlimitOver},
			&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop})...)
	}
	// A VM that started while no block was free has no ports: its new
	// flows are OUT_OF_RESOURCES until it gets one.
	add(chs[chainFwd], append(append(append(matchOif(c.WAN), unconfirmed()...),
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Lookup{SourceRegister: reg1, SetName: setWaiting}),
		outOfResources(&expr.Payload{DestRegister: reg32a, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4})...)...)
	for _, proto := range []byte{unix.IPPROTO_TCP, unix.IPPROTO_UDP} {
		add(chs[chainFwd], append(append(append(matchOif(c.WAN), unconfirmed()...),
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{proto}},
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
			// The packet carries its VM in its mark to the hold check
			// after NAT (ct original saddr would do, but the nftables
			// library cannot read such a rule back).
			&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: reg1}),
			&expr.Lookup{SourceRegister: reg1, DestRegister: 0, IsDestRegSet: true, SetName: setVMSize})...)
	}
	for _, r := range eimForward(c) {
		add(chs[chainFwd], r...)
	}
	for _, size := range sizes {
		ch := &nftables.Chain{Name: chainOORPre + itoa(size), Table: t}
		p.chains = append(p.chains, ch)
		for _, other := range sizes {
			if other != size {
				add(ch, countFlow(other)...)
			}
		}
		add(ch, append(countFlow(size), outOfResources(&expr.Payload{DestRegister: reg32a, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4})...)...)
	}

	// After NAT: EIM conflicts and mappings, held tuples, the hold, new
	// connections.
	for _, r := range eimPostNAT(c) {
		add(chs[chainPostHld], r...)
	}
	add(chs[chainPostHld], append(heldSYN(), outOfResources(&expr.Meta{Key: expr.MetaKeyMARK, Register: reg32a})...)...)
	add(chs[chainPostHld], holdUpdate(c, 0)...)
	add(chs[chainPostHld], append(matchOif(c.WAN),
		&expr.Ct{Key: expr.CtKeySTATUS, Register: reg1},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(ipsConfirmed | ipsSrcNAT), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: binaryutil.NativeEndian.PutUint32(ipsSrcNAT)},
		&expr.Objref{Type: unix.NFT_OBJECT_COUNTER, Name: counterNew})...)
	add(chs[chainPreHld], append(ctNew(), setTimeout(unix.IPPROTO_TCP, tcpPol.Name)...)...)
	add(chs[chainPreHld], append(ctNew(), setTimeout(unix.IPPROTO_UDP, udpPol.Name)...)...)
	add(chs[chainPreHld], holdUpdate(c, 1)...)
	for _, r := range eimPreDeNAT(c) {
		add(chs[chainPreHld], r...)
	}
	return p
}

// gcpSNAT translates to the block the vmports lookup left in reg 1..4.
func gcpSNAT(c natcfg.Config) expr.Any {
	return withPortSelection(&expr.NAT{Type: expr.NATTypeSourceNAT, Family: unix.NFPROTO_IPV4,
		RegAddrMin: reg1, RegProtoMin: reg32b, RegAddrMax: reg32c, RegProtoMax: reg32d, Specified: true}, c)
}

// withPortSelection sets the port selection of c on the SNAT n.
func withPortSelection(n *expr.NAT, c natcfg.Config) *expr.NAT {
	switch c.PortSelection {
	case natcfg.PortSelectionRandom:
		n.Random = true
	case natcfg.PortSelectionFullyRandom:
		n.FullyRandom = true
	}
	return n
}

// unconfirmed matches the packet that creates a conntrack entry: a
// retransmitted SYN of a flow that already has its port is not checked
// again, the retransmit of a dropped one is.
func unconfirmed() []expr.Any {
	return []expr.Any{
		&expr.Ct{Key: expr.CtKeySTATUS, Register: reg1},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(ipsConfirmed), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: make([]byte, 4)},
	}
}

// countFlow adds the flow to the `ct count` of size: VM . proto . dst .
// dport. The rule goes on when the VM has more than size such flows.
func countFlow(size int) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: reg32a, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg32b},
		&expr.Payload{DestRegister: reg32c, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Payload{DestRegister: reg32d, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Dynset{SrcRegKey: reg32a, SetName: setConnsPre + itoa(size), Operation: unix.NFT_DYNSET_OP_ADD,
			Exprs: []expr.Any{&expr.Connlimit{Count: uint32(size), Flags: connlimitOver}}},
	}
}

// outOfResources drops the packet as OUT_OF_RESOURCES, counting it for
// the VM whose address loadVM puts into reg32a.
func outOfResources(loadVM expr.Any) []expr.Any {
	return []expr.Any{
		loadVM,
		&expr.Dynset{SrcRegKey: reg32a, SetName: setOORVM, Operation: unix.NFT_DYNSET_OP_UPDATE, Exprs: []expr.Any{&expr.Counter{}}},
		&expr.Objref{Type: unix.NFT_OBJECT_COUNTER, Name: counterOOR},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}
}

// gcpVM is the allocator's state of one VM.
type gcpVM struct {
	addr, ip netip.Addr
	block    portrange.Range
	// lowSince is when the VM's usage last fell to half its block or
	// less (zero while it is above).
	lowSince time.Time
	// failed: the VM's usage reached its block, below the maximum, and
	// the block could not double (nat_allocation_failed).
	failed bool
}

// gcpRun is the live part of gcp-cloud-nat: its control loop (the sweep
// that pins closed flows the pinner missed, and the dynamic port
// allocator) and the profile's metrics.
type gcpRun struct {
	b    *Box
	cfg  natcfg.Config
	g    natcfg.GCPConfig
	pool portrange.Range
	vms  []*gcpVM
	byVM map[netip.Addr]*gcpVM
	// waiting are the VMs without a block, in the order they started.
	waiting []netip.Addr
	stopc   chan struct{}
	done    chan struct{}
	once    sync.Once
	// lastErr is the allocator's last failure, shown in the metrics.
	lastErr string
	// startErr is what failed as the config was applied, shown too.
	startErr string
	// pin is what the box pins for this config.
	pin *pinRule
}

func (gcpProfile) start(b *Box, c natcfg.Config) running {
	r := &gcpRun{b: b, cfg: c, g: *c.GCP, pool: c.Pools[0].Ports, byVM: map[netip.Addr]*gcpVM{},
		stopc: make(chan struct{}), done: make(chan struct{})}
	if r.g.Interval == 0 {
		r.g.Interval = natcfg.DefaultDPAInterval
	}
	if r.g.ShrinkAfter == 0 {
		r.g.ShrinkAfter = natcfg.DefaultShrinkAfter
	}
	sources := map[netip.Addr]bool{}
	for _, s := range c.Pools[0].Slices {
		vm := &gcpVM{addr: s.Source, ip: s.IP, block: s.Ports}
		r.vms = append(r.vms, vm)
		r.byVM[s.Source] = vm
		sources[s.Source] = true
	}
	r.waiting = slices.Clone(r.g.Waiting)
	r.pin = &pinRule{sources: sources, hold: uint32((c.Hold + time.Second - 1) / time.Second)}
	if err := eimPrune(b, c); err != nil {
		r.startErr = err.Error()
	}
	b.pins.pin(r.pin)
	go r.loop()
	return r
}

func (r *gcpRun) stop() {
	r.once.Do(func() { close(r.stopc) })
	<-r.done
	r.b.pins.pin(nil)
}

func (r *gcpRun) loop() {
	defer close(r.done)
	t := time.NewTicker(r.g.Interval)
	defer t.Stop()
	for {
		select {
		case <-r.stopc:
			return
		case now := <-t.C:
			r.b.mu.Lock()
			r.lastErr = ""
			if err := r.round(now); err != nil {
				r.lastErr = err.Error()
			}
			r.b.mu.Unlock()
		}
	}
}

// gcpUse is what one VM uses now.
type gcpUse struct {
	// perDest counts NAT ports per destination ip:port:proto.
	perDest map[natPort]int
	// ports are the NAT ports the VM holds (any destination).
	ports map[uint16]bool
	open  int
}

func (u *gcpUse) max() int {
	n := 0
	for _, c := range u.perDest {
		n = max(n, c)
	}
	return n
}

// usage reads, per VM, the NAT ports its conntrack entries and held
// tuples occupy. A held tuple belongs to the VM whose block holds its port.
func (r *gcpRun) usage(flows []conntrack.Flow, held []natPort) map[*gcpVM]*gcpUse {
	out := map[*gcpVM]*gcpUse{}
	use := func(vm *gcpVM) *gcpUse {
		u := out[vm]
		if u == nil {
			u = &gcpUse{perDest: map[natPort]int{}, ports: map[uint16]bool{}}
			out[vm] = u
		}
		return u
	}
	seen := map[natPort]bool{}
	for _, f := range flows {
		o, rp := f.TupleOrig, f.TupleReply
		vm := r.byVM[o.IP.SourceAddress]
		if vm == nil || rp.IP.DestinationAddress == o.IP.SourceAddress {
			continue // not a VM's, or not translated
		}
		np := natPort{ip: rp.IP.DestinationAddress, proto: protoName(o.Proto.Protocol),
			dst: netip.AddrPortFrom(o.IP.DestinationAddress, o.Proto.DestinationPort), port: rp.Proto.DestinationPort}
		u := use(vm)
		if !seen[np] {
			seen[np] = true
			u.perDest[natPort{proto: np.proto, dst: np.dst}]++
			u.ports[np.port] = true
		}
		if o.Proto.Protocol != unix.IPPROTO_TCP || !closedTCP(f.ProtoInfo.TCP) {
			u.open++
		}
	}
	for _, np := range held {
		if seen[np] {
			continue
		}
		for _, vm := range r.vms {
			if vm.ip == np.ip && np.port >= vm.block.First && np.port <= vm.block.Last {
				seen[np] = true
				u := use(vm)
				u.perDest[natPort{proto: np.proto, dst: np.dst}]++
				u.ports[np.port] = true
				break
			}
		}
	}
	return out
}

// TCP conntrack states (include/uapi/linux/netfilter/nf_conntrack_tcp.h).
const (
	tcpStateTimeWait = 7
	tcpStateClose    = 8
)

func closedTCP(p *conntrack.ProtoInfoTCP) bool {
	return p != nil && (p.State == tcpStateTimeWait || p.State == tcpStateClose)
}

// round is one pass of the control loop. It pins the closed entries the
// pinner's events missed, then, with dynamic port allocation, doubles the
// block of every VM whose usage to a destination reached it and halves the
// block of every VM that used at most half of it for ShrinkAfter and holds
// no port in the half given back.
func (r *gcpRun) round(now time.Time) error {
	flows, err := r.b.ct.Dump(nil)
	if err != nil {
		return fmt.Errorf("conntrack dump: %w", err)
	}
	if err := pinClosed(r.b.ct, flows, r.pin); err != nil {
		return err
	}
	if err := r.placeWaiting(); err != nil {
		return err
	}
	if !r.g.DynamicPortAllocation {
		return nil
	}
	held, err := r.b.heldPorts()
	if err != nil {
		return fmt.Errorf("dynamic port allocation: %w", err)
	}
	use := r.usage(flows, held)
	top := min(r.g.MaxPorts, natcfg.MaxBlock(r.pool.Size()))
	type change struct {
		vm    *gcpVM
		block portrange.Range
	}
	var changes []change
	for _, vm := range r.vms {
		u := use[vm]
		need, size := 0, vm.block.Size()
		if u != nil {
			need = u.max()
		}
		switch {
		case need >= size && size < top:
			if b, ok := r.grown(vm); ok {
				changes = append(changes, change{vm, b})
				vm.failed = false
			} else {
				vm.failed = true
			}
			vm.lowSince = time.Time{}
		case need <= size/2 && size > r.g.MinPorts:
			vm.failed = false
			if vm.lowSince.IsZero() {
				vm.lowSince = now
				continue
			}
			half := portrange.Range{First: vm.block.First, Last: vm.block.First + uint16(size/2) - 1}
			if now.Sub(vm.lowSince) >= r.g.ShrinkAfter && !usesAbove(u, half.Last) {
				changes = append(changes, change{vm, half})
				vm.lowSince = now
			}
		default:
			vm.failed = false
			vm.lowSince = time.Time{}
		}
	}
	if len(changes) == 0 {
		return nil
	}
	t := natTable()
	ports, sizes := vmPortsSet(t), vmSizeSet(t)
	for _, ch := range changes {
		k := ch.vm.addr.As4()
		if err := r.b.nft.SetDeleteElements(ports, []nftables.SetElement{{Key: k[:]}}); err != nil {
			return fmt.Errorf("dynamic port allocation: %w", err)
		}
		if err := r.b.nft.SetAddElements(ports, []nftables.SetElement{vmPortsElem(ch.vm.addr, ch.vm.ip, ch.block)}); err != nil {
			return fmt.Errorf("dynamic port allocation: %w", err)
		}
		if err := r.b.nft.SetDeleteElements(sizes, []nftables.SetElement{{Key: k[:]}}); err != nil {
			return fmt.Errorf("dynamic port allocation: %w", err)
		}
		if err := r.b.nft.SetAddElements(sizes, []nftables.SetElement{vmSizeElem(ch.vm.addr, ch.block.Size())}); err != nil {
			return fmt.Errorf("dynamic port allocation: %w", err)
		}
	}
	if err := r.b.nft.Flush(); err != nil {
		return fmt.Errorf("dynamic port allocation: %w", err)
	}
	for _, ch := range changes {
		ch.vm.block = ch.block
	}
	return nil
}

// grown is vm's block doubled in place: the aligned block of twice the
// size that holds it, if it lies in the range and no other VM's block on
// the same NAT IP overlaps it.
func (r *gcpRun) grown(vm *gcpVM) (portrange.Range, bool) {
	size := vm.block.Size() * 2
	off := int(vm.block.First) - int(r.pool.First)
	first := int(r.pool.First) + off - off%size
	g := portrange.Range{First: uint16(first), Last: uint16(first + size - 1)}
	if first+size-1 > int(r.pool.Last) {
		return g, false
	}
	for _, o := range r.vms {
		if o != vm && o.ip == vm.ip && o.block.Overlaps(g) {
			return g, false
		}
	}
	return g, true
}

// usesAbove reports whether u holds a port above last.
func usesAbove(u *gcpUse, last uint16) bool {
	if u == nil {
		return false
	}
	for p := range u.ports {
		if p > last {
			return true
		}
	}
	return false
}

// metrics adds Cloud NAT's metrics and makes utilization per VM: each
// VM's port_usage over its block as it is now.
func (r *gcpRun) metrics(flows []conntrack.Flow, held []natPort, m *natcfg.Metrics) error {
	use := r.usage(flows, held)
	g := &natcfg.GCPMetrics{DroppedSent: map[string]uint64{}}
	objs, err := r.b.tableObjects()
	if err != nil {
		return err
	}
	for _, o := range objs {
		c, ok := o.Obj.(*expr.Counter)
		if !ok {
			continue
		}
		switch o.Name {
		case counterOOR:
			g.DroppedSent[natcfg.ReasonOutOfResources] = c.Packets
		case counterNew:
			g.NewConnections = c.Packets
		case counterEIMConflict:
			g.DroppedSent[natcfg.ReasonEndpointIndependenceConflict] = c.Packets
		}
	}
	perVM := map[netip.Addr]uint64{}
	elems, err := r.b.nft.GetSetElements(oorVMSet(natTable()))
	if err != nil {
		return fmt.Errorf("per-VM drops: %w", err)
	}
	for _, el := range elems {
		if len(el.Key) == 4 && el.Counter != nil {
			perVM[netip.AddrFrom4([4]byte(el.Key))] = el.Counter.Packets
		}
	}
	// Utilization is Cloud NAT's: a VM's port_usage over its
	// allocated_ports, for a VM runs out of ports when its own block is
	// full, whatever its NAT IP has free. A NAT IP's is its busiest VM's,
	// the gateway's (its one pool) the busiest VM's of all.
	pool := r.cfg.Pools[0]
	m.IPUtilization, m.PoolUtilization = map[string]float64{}, map[string]float64{pool.Name: 0}
	for _, ip := range pool.IPs {
		m.IPUtilization[ip.String()] = 0
	}
	for _, vm := range r.vms {
		v := natcfg.VMMetrics{VM: vm.addr, NATIP: vm.ip, Ports: vm.block, AllocatedPorts: vm.block.Size(),
			Dropped: perVM[vm.addr], AllocationFailed: vm.failed}
		if u := use[vm]; u != nil {
			v.PortUsage = u.max()
			g.OpenConnections += u.open
		}
		g.AllocationFailed = g.AllocationFailed || vm.failed
		g.VMs = append(g.VMs, v)
		u := float64(v.PortUsage) / float64(v.AllocatedPorts)
		m.IPUtilization[vm.ip.String()] = max(m.IPUtilization[vm.ip.String()], u)
		m.PoolUtilization[pool.Name] = max(m.PoolUtilization[pool.Name], u)
	}
	for _, vm := range r.waiting {
		g.AllocationFailed = true
		g.VMs = append(g.VMs, natcfg.VMMetrics{VM: vm, Dropped: perVM[vm], AllocationFailed: true})
	}
	m.GCP = g
	// An EIM conflict is a mapping the kernel could not make (without
	// its drop rule it counts as insert_failed), so it joins the failures.
	drops := g.DroppedSent[natcfg.ReasonOutOfResources] + g.DroppedSent[natcfg.ReasonEndpointIndependenceConflict]
	m.PolicyDrops += drops
	m.AllocationFailures += drops
	g.AllocatorError = strings.TrimPrefix(r.startErr+"; "+r.lastErr, "; ")
	g.AllocatorError = strings.TrimSuffix(g.AllocatorError, "; ")
	if err := r.b.pins.err.Load(); err != nil {
		// The sweep still pins closed flows, a round later.
		g.AllocatorError = strings.TrimPrefix(g.AllocatorError+"; ", "; ") + "conntrack events stopped: " + (*err).Error()
	}
	return nil
}
