package natbox

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sort"
	"sync/atomic"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/testbed/natcfg"
)

// Names of natlab's nftables objects.
const (
	tableName    = "natlab"
	chainPost    = "post"
	chainPostHld = "post_hold"
	chainPreHld  = "pre_hold"
	chainFwd     = "fwd"
	setHeld      = "held"
)

// nftables registers: reg 1 is the 16-byte register, 8..11 its 32-bit parts.
const (
	reg1   = 1
	reg2   = 2
	reg3   = 3
	reg4   = 4
	reg32a = 8
	reg32b = 9
	reg32c = 10
	reg32d = 11
)

// tcp flag bits.
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpACK = 0x10
)

func natTable() *nftables.Table {
	return &nftables.Table{Name: tableName, Family: nftables.TableFamilyIPv4}
}

// chains returns natlab's fixed chains; their definitions never change
// between configs so a live re-apply only replaces rules.
func chains(t *nftables.Table) []*nftables.Chain {
	accept := nftables.ChainPolicyAccept
	return []*nftables.Chain{
		{Name: chainPost, Table: t, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource, Policy: &accept},
		{Name: chainPostHld, Table: t, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityRef(*nftables.ChainPriorityNATSource + 10), Policy: &accept},
		{Name: chainPreHld, Table: t, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityRef(*nftables.ChainPriorityNATDest - 10), Policy: &accept},
		{Name: chainFwd, Table: t, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &accept},
	}
}

// heldSet is the managed-NAT hold set: NAT IP . NAT port . dst IP . dst port.
// It has no default timeout; the updating rule carries the hold time, so a
// new hold does not need a new set and held elements survive a re-apply.
func heldSet(t *nftables.Table) *nftables.Set {
	key, _ := nftables.ConcatSetType(nftables.TypeIPAddr, nftables.TypeInetService, nftables.TypeIPAddr, nftables.TypeInetService)
	return &nftables.Set{
		Table: t, Name: setHeld, KeyType: key, Concatenation: true,
		HasTimeout: true, Dynamic: true,
	}
}

// anonSet is an anonymous set with its elements, bound to the rule that
// uses it.
type anonSet struct {
	set   *nftables.Set
	elems []nftables.SetElement
}

// libTCPTimeouts and libUDPTimeouts are the nftables library's defaults
// (libnftnl's, not the kernel's) as they were at start: the library fills the states a policy leaves out
// from a package map that it also overwrites, so natlab always hands it
// every state, starting from this copy.
var libTCPTimeouts, libUDPTimeouts = copyPolicy(expr.CtStateTCPTimeoutDefaults), copyPolicy(expr.CtStateUDPTimeoutDefaults)

func copyPolicy(p expr.CtStatePolicyTimeout) map[uint16]uint32 {
	out := make(map[uint16]uint32, len(p))
	for k, v := range p {
		out[k] = v
	}
	return out
}

// holdTimeout is a ct timeout policy of protocol proto named name: the
// states in set get those timeouts (seconds), the others the defaults.
func holdTimeout(t *nftables.Table, name string, proto byte, set map[uint16]uint32) *nftables.NamedObj {
	pol := copyPolicy(libTCPTimeouts)
	if proto == unix.IPPROTO_UDP {
		pol = copyPolicy(libUDPTimeouts)
	}
	for k, v := range set {
		pol[k] = v
	}
	return &nftables.NamedObj{Table: t, Name: name, Type: nftables.ObjTypeCtTimeout,
		Obj: &expr.CtTimeout{L3Proto: unix.NFPROTO_IPV4, L4Proto: proto, Policy: pol}}
}

func itoa(n int) string { return fmt.Sprint(n) }

// holdUpdate starts the hold of a flow's tuple on its first FIN or RST.
// dir 0 is the original direction after SNAT (src is the NAT IP); dir 1 is
// the reply direction before de-NAT (dst is the NAT IP). A later FIN or
// RST (a retransmit) does not restart it: the closed conntrack entry is
// pinned (pin.go) and no packet lengthens its timeout, so a hold that a
// retransmit restarted would outlive the entry, the kernel would hand the
// port out while it is held, and the hold would drop that SYN (seen under
// load: 2 a second in nat-port-exhaustion-offpeak's evening, 47% of the
// ports free).
func holdUpdate(c natcfg.Config, dir byte) []expr.Any {
	e := []expr.Any{
		&expr.Ct{Key: expr.CtKeyDIRECTION, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{dir}},
	}
	e = append(e, tcpFlags(tcpFIN|tcpRST, expr.CmpOpNeq, 0)...)
	e = append(e, loadTuple(dir == 1)...)
	return append(e, &expr.Dynset{SrcRegKey: reg32a, SetName: setHeld, Operation: unix.NFT_DYNSET_OP_ADD, Timeout: c.Hold})
}

func tcpFlags(mask byte, op expr.CmpOp, want byte) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: 13, Len: 1},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 1, Mask: []byte{mask}, Xor: []byte{0}},
		&expr.Cmp{Op: op, Register: reg1, Data: []byte{want}},
	}
}

// loadTuple loads NAT IP . NAT port . peer IP . peer port into reg32a..d.
// reply selects the reply direction where the NAT side is the destination.
func loadTuple(reply bool) []expr.Any {
	natIP, natPort, peerIP, peerPort := uint32(12), uint32(0), uint32(16), uint32(2)
	if reply {
		natIP, natPort, peerIP, peerPort = 16, 2, 12, 0
	}
	return []expr.Any{
		&expr.Payload{DestRegister: reg32a, Base: expr.PayloadBaseNetworkHeader, Offset: natIP, Len: 4},
		&expr.Payload{DestRegister: reg32b, Base: expr.PayloadBaseTransportHeader, Offset: natPort, Len: 2},
		&expr.Payload{DestRegister: reg32c, Base: expr.PayloadBaseNetworkHeader, Offset: peerIP, Len: 4},
		&expr.Payload{DestRegister: reg32d, Base: expr.PayloadBaseTransportHeader, Offset: peerPort, Len: 2},
	}
}

func matchSource(p netip.Prefix) []expr.Any {
	p = p.Masked()
	addr := p.Addr().As4()
	e := []expr.Any{&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4}}
	if p.Bits() < 32 {
		mask := binary.BigEndian.AppendUint32(nil, ^uint32(0)<<(32-p.Bits()))
		if p.Bits() == 0 {
			mask = make([]byte, 4)
		}
		e = append(e, &expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: mask, Xor: make([]byte, 4)})
	}
	return append(e, &expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: addr[:]})
}

func matchOif(name string) []expr.Any {
	b := make([]byte, 16)
	copy(b, name)
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: b},
	}
}

func immAddr(reg uint32, a netip.Addr) expr.Any {
	b := a.As4()
	return &expr.Immediate{Register: reg, Data: b[:]}
}

// snat loads the port range into reg3/reg4 and translates; the address is
// already in reg1 (and reg2 when addrRange).
func snat(c natcfg.Config, ports portrange.Range, addrRange bool) []expr.Any {
	n := &expr.NAT{Type: expr.NATTypeSourceNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: reg1,
		RegProtoMin: reg3, RegProtoMax: reg4, Specified: true}
	if addrRange {
		n.RegAddrMax = reg2
	}
	withPortSelection(n, c)
	return []expr.Any{
		&expr.Immediate{Register: reg3, Data: binaryutil.BigEndian.PutUint16(ports.First)},
		&expr.Immediate{Register: reg4, Data: binaryutil.BigEndian.PutUint16(ports.Last)},
		n,
	}
}

func ipMap(t *nftables.Table, ips []netip.Addr) anonSet {
	// Name and ID are set here, not by AddSet, because the rule's lookup
	// refers to the set by its batch ID.
	s := &nftables.Set{Table: t, Anonymous: true, Constant: true, IsMap: true,
		Name: "__map%d", ID: anonSetID.Add(1),
		KeyType: nftables.TypeInteger, DataType: nftables.TypeIPAddr}
	elems := make([]nftables.SetElement, len(ips))
	for i, ip := range ips {
		b := ip.As4()
		elems[i] = nftables.SetElement{Key: binaryutil.NativeEndian.PutUint32(uint32(i)), Val: b[:]}
	}
	return anonSet{set: s, elems: elems}
}

func contiguous(sorted []netip.Addr) bool {
	for i := 1; i < len(sorted); i++ {
		if sorted[i] != sorted[i-1].Next() {
			return false
		}
	}
	return len(sorted) > 0
}

func sortedAddrs(in []netip.Addr) []netip.Addr {
	out := append([]netip.Addr(nil), in...)
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out
}

func sortedPrefixes(in []netip.Prefix) []netip.Prefix {
	out := append([]netip.Prefix(nil), in...)
	sort.Slice(out, func(i, j int) bool { return out[i].Addr().Less(out[j].Addr()) })
	return out
}

// anonSetID numbers anonymous sets within a batch; the high bits keep it
// apart from the IDs the nftables library hands out.
var anonSetID atomic.Uint32

func init() { anonSetID.Store(0x4e4c0000) }

// connlimitOver is NFT_CONNLIMIT_F_INV: match when the count is over the limit.
const connlimitOver = 1
