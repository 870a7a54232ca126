package natbox

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"sort"

	"github.com/mdlayher/netlink"
	"github.com/ti-mo/netfilter"

	"github.com/natlab/natlab/testbed/natcfg"
)

// A light conntrack dump for the per-tick reading. conntrack.Conn.Dump
// decodes every attribute of every entry into a Flow (counters, timestamps,
// labels, a dozen allocations each): at 100,000 entries one reading took
// 1.5 s on a 2-core box, past the sampler's deadline. Metrics needs only
// the two tuples, so dumpTuples walks the netlink attributes of each
// message in place and decodes those alone, without allocating per entry.

// ctTuples is the part of a conntrack entry Metrics reads (IPv4
// addresses; an IPv6 entry leaves them zero, and matches no NAT IP).
type ctTuples struct {
	proto            uint8
	origSrc, origDst [4]byte
	origDport        uint16
	replyDst         [4]byte
	replyDport       uint16
}

// Netlink attribute types of ctnetlink (linux/netfilter/nfnetlink_conntrack.h).
const (
	ctaTupleOrig   = 1
	ctaTupleReply  = 2
	ctaTupleIP     = 1
	ctaTupleProto  = 2
	ctaIPv4Src     = 1
	ctaIPv4Dst     = 2
	ctaProtoNum    = 1
	ctaProtoSrc    = 2
	ctaProtoDst    = 3
	nlaTypeMask    = 0x3fff
	nfgenmsgLength = 4
	ctnlMsgGet     = 1 // IPCTNL_MSG_CT_GET
)

// openTupleDumper opens the netfilter socket of dumpTuples in the
// current network namespace.
func openTupleDumper() (*netfilter.Conn, error) {
	c, err := netfilter.Dial(nil)
	if err != nil {
		return nil, fmt.Errorf("open conntrack dump socket: %w", err)
	}
	return c, nil
}

// dumpTuples dumps the conntrack table and calls fn with each entry's
// tuples; it returns the number of entries. t is reused between calls.
func dumpTuples(c *netfilter.Conn, fn func(t *ctTuples)) (int, error) {
	req, err := netfilter.MarshalNetlink(netfilter.Header{
		SubsystemID: netfilter.NFSubsysCTNetlink,
		MessageType: netfilter.MessageType(ctnlMsgGet),
		Family:      netfilter.ProtoUnspec,
		Flags:       netlink.Request | netlink.Dump,
	}, nil)
	if err != nil {
		return 0, err
	}
	msgs, err := c.Query(req)
	if err != nil {
		return 0, err
	}
	var t ctTuples
	n := 0
	for _, m := range msgs {
		if len(m.Data) < nfgenmsgLength {
			continue
		}
		t = ctTuples{}
		walkAttrs(m.Data[nfgenmsgLength:], func(typ uint16, b []byte) {
			switch typ {
			case ctaTupleOrig:
				decodeTuple(b, &t, true)
			case ctaTupleReply:
				decodeTuple(b, &t, false)
			}
		})
		n++
		fn(&t)
	}
	return n, nil
}

// walkAttrs calls fn for every netlink attribute in b (type without flags).
func walkAttrs(b []byte, fn func(typ uint16, payload []byte)) {
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b[0:2]))
		typ := binary.NativeEndian.Uint16(b[2:4]) & nlaTypeMask
		if l < 4 || l > len(b) {
			return
		}
		fn(typ, b[4:l])
		l = (l + 3) &^ 3
		if l > len(b) {
			return
		}
		b = b[l:]
	}
}

// decodeTuple reads the addresses and ports of one CTA_TUPLE_* into t.
func decodeTuple(b []byte, t *ctTuples, orig bool) {
	walkAttrs(b, func(typ uint16, p []byte) {
		switch typ {
		case ctaTupleIP:
			walkAttrs(p, func(typ uint16, a []byte) {
				if len(a) != 4 { // CTA_IP_V6_* are other types
					return
				}
				switch {
				case orig && typ == ctaIPv4Src:
					t.origSrc = [4]byte(a)
				case orig && typ == ctaIPv4Dst:
					t.origDst = [4]byte(a)
				case !orig && typ == ctaIPv4Dst:
					t.replyDst = [4]byte(a)
				}
			})
		case ctaTupleProto:
			walkAttrs(p, func(typ uint16, a []byte) {
				switch typ {
				case ctaProtoNum:
					if len(a) == 1 {
						t.proto = a[0]
					}
				case ctaProtoDst:
					if len(a) != 2 {
						return
					}
					port := binary.BigEndian.Uint16(a)
					if orig {
						t.origDport = port
					} else {
						t.replyDport = port
					}
				}
			})
		}
	})
}

// portKey is one NAT IP, protocol and destination, compact.
type portKey struct {
	natIP [4]byte
	proto uint8
	dstIP [4]byte
	dport uint16
}

// portSet is a bitmap of the 65,536 ports of one portKey.
type portSet [1024]uint64

func (s *portSet) add(p uint16) { s[p>>6] |= 1 << (p & 63) }

func (s *portSet) count() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

// usedPorts counts distinct NAT ports per NAT IP, protocol and destination.
type usedPorts map[portKey]*portSet

func (u usedPorts) add(k portKey, port uint16) {
	s := u[k]
	if s == nil {
		s = new(portSet)
		u[k] = s
	}
	s.add(port)
}

func (u usedPorts) mappings() []natcfg.Mapping {
	out := make([]natcfg.Mapping, 0, len(u))
	for k, s := range u {
		out = append(out, natcfg.Mapping{
			NATIP:       netip.AddrFrom4(k.natIP),
			Protocol:    protoName(k.proto),
			Destination: netip.AddrPortFrom(netip.AddrFrom4(k.dstIP), k.dport),
			Count:       s.count(),
		})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.NATIP != b.NATIP {
			return a.NATIP.Less(b.NATIP)
		}
		if a.Protocol != b.Protocol {
			return a.Protocol < b.Protocol
		}
		return a.Destination.Compare(b.Destination) < 0
	})
	return out
}

// note counts the NAT port of a SNATed entry: its reply goes to a NAT IP
// that is not its own source.
func (u usedPorts) note(t ctTuples, isNAT map[[4]byte]bool) {
	if !isNAT[t.replyDst] || t.origSrc == t.replyDst {
		return
	}
	u.add(portKey{natIP: t.replyDst, proto: t.proto, dstIP: t.origDst, dport: t.origDport}, t.replyDport)
}
