package natbox

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/natlab/natlab/testbed/natcfg"
)

// Endpoint-independent mapping of the gcp-cloud-nat profile
// (docs/nat-profiles.md). With it on, every UDP flow of one internal
// ip:port leaves from one NAT ip:port, whatever its destination:
//
//   - a dynamic map eim from internal ip . port to NAT ip . port, filled
//     after SNAT from every outgoing datagram and refreshed by replies,
//     each element living udp_idle_timeout_sec after the last datagram of
//     any flow of that endpoint, as the flows do;
//   - a SNAT rule ahead of the block's that translates a datagram whose
//     source is in eim to exactly that NAT ip:port (a range of one), so
//     the kernel cannot pick another;
//   - a set eim_live of the translated tuples (NAT ip . port . peer .
//     port) that answered, refreshed by replies only: a new flow whose
//     fixed tuple is one of them would clash with another endpoint's flow
//     in conntrack, and is dropped after SNAT into the named counter
//     eim_conflict (ENDPOINT_INDEPENDENCE_CONFLICT) before the kernel's
//     confirmation would drop it without a reason.
//
// The counter exists with EIM off too, so that the reason reads 0 and
// keeps its count across a live toggle. TCP is not endpoint-independent
// here: natlab maps UDP, the protocol holepunching relies on.
const (
	setEIM             = "eim"      // internal ip . port -> NAT ip . port
	setEIMLive         = "eim_live" // NAT ip . port . peer ip . peer port that answered
	counterEIMConflict = "eim_conflict"
)

func eimSet(t *nftables.Table) *nftables.Set {
	ends, _ := nftables.ConcatSetType(nftables.TypeIPAddr, nftables.TypeInetService)
	return &nftables.Set{Table: t, Name: setEIM, IsMap: true, KeyType: ends, DataType: ends,
		Concatenation: true, Dynamic: true, HasTimeout: true}
}

func eimLiveSet(t *nftables.Table) *nftables.Set {
	key, _ := nftables.ConcatSetType(nftables.TypeIPAddr, nftables.TypeInetService, nftables.TypeIPAddr, nftables.TypeInetService)
	return &nftables.Set{Table: t, Name: setEIMLive, KeyType: key, Concatenation: true, Dynamic: true, HasTimeout: true}
}

// eimPlan adds the conflict counter and, with EIM on, the two sets. The
// sets are kept across a re-apply that keeps EIM on (mappings survive a
// config change) and go with EIM off.
func eimPlan(c natcfg.Config, t *nftables.Table, p *plan) {
	p.objects = append(p.objects, &nftables.NamedObj{Table: t, Name: counterEIMConflict, Type: nftables.ObjTypeCounter, Obj: &expr.Counter{}})
	if !c.GCP.EndpointIndependentMapping {
		return
	}
	p.sets = append(p.sets, namedSet{set: eimSet(t), keep: true}, namedSet{set: eimLiveSet(t), keep: true})
}

// eimSNAT is the rule of the NAT chain, before the block's SNAT, that
// translates a UDP datagram of a mapped endpoint to its mapping.
func eimSNAT(c natcfg.Config) []expr.Any {
	if !c.GCP.EndpointIndependentMapping {
		return nil
	}
	return append(append(matchOif(c.WAN), matchUDP()...),
		&expr.Payload{DestRegister: reg32a, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Payload{DestRegister: reg32b, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 2},
		&expr.Lookup{SourceRegister: reg32a, DestRegister: reg1, IsDestRegSet: true, SetName: setEIM},
		&expr.NAT{Type: expr.NATTypeSourceNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: reg1, RegProtoMin: reg32b, Specified: true})
}

// eimForward are the rules of the forward chain (before SNAT): an
// outgoing datagram carries its internal ip in the packet mark and its
// internal port in the flow's ct mark to the mapping rule after SNAT (the
// nftables library cannot read back a rule that loads ct original
// addresses); a reply, de-NATed to its internal ip:port, refreshes that
// endpoint's mapping if it has one.
func eimForward(c natcfg.Config) [][]expr.Any {
	if !c.GCP.EndpointIndependentMapping {
		return nil
	}
	out := append(append(append(matchOif(c.WAN), matchUDP()...), ctDir(0)...),
		&expr.Payload{DestRegister: reg32a, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: reg32a},
		&expr.Payload{DestRegister: reg32b, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 2},
		&expr.Ct{Key: expr.CtKeyMARK, SourceRegister: true, Register: reg32b})
	reply := append(append(append(matchUDP(), ctDir(1)...), srcNATed()...),
		&expr.Payload{DestRegister: reg32a, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Payload{DestRegister: reg32b, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Lookup{SourceRegister: reg32a, DestRegister: reg32c, IsDestRegSet: true, SetName: setEIM},
		&expr.Dynset{SrcRegKey: reg32a, SrcRegData: reg32c, SetName: setEIM, Operation: unix.NFT_DYNSET_OP_UPDATE, Timeout: c.GCP.UDPIdle})
	return [][]expr.Any{out, reply}
}

// eimPostNAT are the rules of the filter chain after SNAT: the conflict
// drop (first, so that a dropped flow is no new connection and leaves no
// mapping), then the mapping of every outgoing datagram: internal ip .
// port (the marks eimForward set) : NAT ip . port.
func eimPostNAT(c natcfg.Config) [][]expr.Any {
	if !c.GCP.EndpointIndependentMapping {
		return nil
	}
	conflict := append(append(append(append(matchOif(c.WAN), matchUDP()...), unconfirmed()...), loadTuple(false)...),
		&expr.Lookup{SourceRegister: reg32a, SetName: setEIMLive},
		&expr.Objref{Type: unix.NFT_OBJECT_COUNTER, Name: counterEIMConflict},
		&expr.Verdict{Kind: expr.VerdictDrop})
	mapping := append(append(append(append(matchOif(c.WAN), matchUDP()...), ctDir(0)...), srcNATed()...),
		&expr.Meta{Key: expr.MetaKeyMARK, Register: reg32a},
		&expr.Ct{Key: expr.CtKeyMARK, Register: reg32b},
		&expr.Payload{DestRegister: reg32c, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Payload{DestRegister: reg32d, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 2},
		&expr.Dynset{SrcRegKey: reg32a, SrcRegData: reg32c, SetName: setEIM, Operation: unix.NFT_DYNSET_OP_UPDATE, Timeout: c.GCP.UDPIdle})
	return [][]expr.Any{conflict, mapping}
}

// eimPreDeNAT is the rule of the filter chain before de-NAT: a reply
// marks its translated tuple live.
func eimPreDeNAT(c natcfg.Config) [][]expr.Any {
	if !c.GCP.EndpointIndependentMapping {
		return nil
	}
	live := append(append(append(append(matchUDP(), ctDir(1)...), srcNATed()...), loadTuple(true)...),
		&expr.Dynset{SrcRegKey: reg32a, SetName: setEIMLive, Operation: unix.NFT_DYNSET_OP_UPDATE, Timeout: c.GCP.UDPIdle})
	return [][]expr.Any{live}
}

// ctDir matches packets of direction dir (0 original, 1 reply).
func ctDir(dir byte) []expr.Any {
	return []expr.Any{
		&expr.Ct{Key: expr.CtKeyDIRECTION, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{dir}},
	}
}

func matchUDP() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{unix.IPPROTO_UDP}},
	}
}

// srcNATed matches packets of flows the NAT translated.
func srcNATed() []expr.Any {
	return []expr.Any{
		&expr.Ct{Key: expr.CtKeySTATUS, Register: reg1},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(ipsSrcNAT), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: make([]byte, 4)},
	}
}

// eimPrune deletes the kept mappings that the config c no longer allows:
// a re-apply that keeps EIM on keeps the eim map, but a mapping outside
// its VM's block now (min_ports_per_vm lowered, a NAT IP removed) cannot
// be kept, and its endpoint's next flow is mapped afresh within the block.
// It runs right after the apply; a new flow in between may still use an
// old mapping.
func eimPrune(b *Box, c natcfg.Config) error {
	if c.GCP == nil || !c.GCP.EndpointIndependentMapping {
		return nil
	}
	set := eimSet(natTable())
	elems, err := b.nft.GetSetElements(set)
	if err != nil {
		return fmt.Errorf("endpoint-independent mappings: %w", err)
	}
	blocks := map[netip.Addr]natcfg.Slice{}
	for _, s := range c.Pools[0].Slices {
		blocks[s.Source] = s
	}
	var stale []nftables.SetElement
	for _, el := range elems {
		if len(el.Key) < 4 || len(el.Val) < 6 {
			continue
		}
		s, ok := blocks[netip.AddrFrom4([4]byte(el.Key[:4]))]
		ip, port := netip.AddrFrom4([4]byte(el.Val[:4])), binary.BigEndian.Uint16(el.Val[4:6])
		if !ok || s.IP != ip || port < s.Ports.First || port > s.Ports.Last {
			stale = append(stale, nftables.SetElement{Key: el.Key})
		}
	}
	if len(stale) == 0 {
		return nil
	}
	if err := b.nft.SetDeleteElements(set, stale); err != nil {
		return fmt.Errorf("endpoint-independent mappings: %w", err)
	}
	if err := b.nft.Flush(); err != nil {
		return fmt.Errorf("endpoint-independent mappings: %w", err)
	}
	return nil
}
