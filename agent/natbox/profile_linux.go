package natbox

import (
	"net/netip"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/natlab/natlab/testbed/natcfg"
)

// linuxProfile is a plain Linux NAT: SNAT pools with explicit NAT IPs and
// port ranges (shared, or static slices per host), and with Config.Hold
// the managed-NAT hold of closed flows.
type linuxProfile struct{}

// start pins closed flows in managed mode (pin.go): the kernel must not
// give away a port the hold keeps. It has no control loop.
func (linuxProfile) start(b *Box, c natcfg.Config) running {
	if c.Hold > 0 {
		// The hold's ct timeout policy gave the entry its timeout.
		b.pins.pin(&pinRule{sweep: true})
	}
	return nil
}

func (linuxProfile) build(c natcfg.Config, t *nftables.Table, chs map[string]*nftables.Chain) *plan {
	p := &plan{}
	add := func(ch string, e ...expr.Any) { p.add(t, chs[ch], e...) }
	add(chainPost, onlyTCPUDP()...)
	for _, pool := range c.Pools {
		for _, s := range pool.Slices {
			e := append(matchSource(netip.PrefixFrom(s.Source, 32)), matchOif(c.WAN)...)
			e = append(e, immAddr(reg1, s.IP))
			add(chainPost, append(e, snat(c, s.Ports, false)...)...)
		}
	}
	for _, pool := range c.Pools {
		for _, src := range sortedPrefixes(pool.Sources) {
			e := append(matchSource(src), matchOif(c.WAN)...)
			if len(pool.Slices) > 0 {
				// A host without a slice has no ports: drop its new flows.
				add(chainPost, append(e, &expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop})...)
				continue
			}
			ips := sortedAddrs(pool.IPs)
			switch {
			case contiguous(ips):
				e = append(e, immAddr(reg1, ips[0]))
				if len(ips) > 1 {
					e = append(e, immAddr(reg2, ips[len(ips)-1]))
				}
				add(chainPost, append(e, snat(c, pool.Ports, len(ips) > 1)...)...)
			default:
				// Scattered NAT IPs: hash source and destination address to
				// pick one, as the kernel does within an address range.
				m := ipMap(t, ips)
				p.anonSets = append(p.anonSets, m)
				e = append(e,
					&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 8},
					&expr.Hash{SourceRegister: reg1, DestRegister: reg1, Length: 8, Modulus: uint32(len(ips)), Type: expr.HashTypeJenkins},
					&expr.Lookup{SourceRegister: reg1, DestRegister: reg1, IsDestRegSet: true, SetName: m.set.Name, SetID: m.set.ID})
				add(chainPost, append(e, snat(c, pool.Ports, false)...)...)
			}
		}
	}
	if c.Hold > 0 {
		// A new SYN whose translated tuple is held is dropped (silent loss,
		// the client sees a connect timeout).
		add(chainPostHld, append(heldSYN(), &expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop})...)
		add(chainPostHld, holdUpdate(c, 0)...)
		// Closed flows keep their conntrack entry a little longer than the
		// hold, so the kernel treats a held port as taken instead of
		// handing it out and then seeing the SYN dropped.
		secs := holdTimeoutSeconds(c.Hold)
		pol := holdTimeout(t, holdTimeoutName(c.Hold), unix.IPPROTO_TCP, map[uint16]uint32{expr.CtStateTCPTIMEWAIT: secs, expr.CtStateTCPCLOSE: secs})
		p.objects = append(p.objects, pol)
		add(chainPreHld, append(ctNew(), setTimeout(unix.IPPROTO_TCP, pol.Name)...)...)
		add(chainPreHld, holdUpdate(c, 1)...)
	}
	add(chainFwd, &expr.Counter{})
	if c.ConnLimit > 0 {
		add(chainFwd, append(ctNew(),
			&expr.Connlimit{Count: uint32(c.ConnLimit), Flags: connlimitOver},
			&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop})...)
	}
	return p
}

// onlyTCPUDP accepts what is neither TCP nor UDP: only those get
// port-range SNAT, the rest leaves untranslated.
func onlyTCPUDP() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: []byte{unix.IPPROTO_UDP}},
		&expr.Verdict{Kind: expr.VerdictAccept},
	}
}

// ctNew matches packets of flows conntrack has seen in one direction only.
func ctNew() []expr.Any {
	return []expr.Any{
		&expr.Ct{Key: expr.CtKeySTATE, Register: reg1},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitNEW), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: make([]byte, 4)},
	}
}

// heldSYN matches, after SNAT, a new SYN whose translated tuple is in the
// held set; the caller adds what happens to it.
func heldSYN() []expr.Any {
	e := ctNew()
	e = append(e, tcpFlags(tcpSYN|tcpACK, expr.CmpOpEq, tcpSYN)...)
	e = append(e, loadTuple(false)...)
	return append(e, &expr.Lookup{SourceRegister: reg32a, SetName: setHeld})
}

// setTimeout gives flows of protocol proto the ct timeout policy name.
func setTimeout(proto byte, name string) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{proto}},
		&expr.Objref{Type: unix.NFT_OBJECT_CT_TIMEOUT, Name: name},
	}
}

// holdTimeoutPrefix starts the names of the linux profile's ct timeout
// policies.
const holdTimeoutPrefix = "hold_"

// holdTimeoutSeconds is how long a closed TCP flow's conntrack entry lives
// in managed mode: the hold rounded up, plus one second of margin so the
// entry outlives the held-set element.
func holdTimeoutSeconds(hold time.Duration) uint32 {
	return uint32((hold+time.Second-1)/time.Second) + 1
}

func holdTimeoutName(hold time.Duration) string {
	return holdTimeoutPrefix + itoa(int(holdTimeoutSeconds(hold))) + "s"
}
