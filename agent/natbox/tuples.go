package natbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"sort"
	"time"

	"github.com/ti-mo/netfilter"
	"golang.org/x/sys/unix"

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
	id               uint32 // CTA_ID: the entry's id while it lives
	proto            uint8
	origSrc, origDst [4]byte
	origSport        uint16
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

// tupleDumper is the socket of dumpTuples: a netlink socket of its own,
// read by hand into one reused buffer. Through a netlink library each
// reading allocated every datagram of the dump and a message per entry
// (about 25 MB and 100,000 objects at 100,000 entries, every tick).
type tupleDumper struct {
	fd  int
	seq uint32
	buf []byte
	// unfinished: the dump of seq was not read to its end.
	unfinished bool
}

// dumpBufSize holds the largest datagram the kernel sends a dump in
// (32 KiB, capped by the kernel), with room to spare.
const dumpBufSize = 64 << 10

// dumpTimeout bounds one receive: a dump the kernel stops answering is an
// error, not a hung agent.
const dumpTimeout = 10 * time.Second

// openTupleDumper opens the socket of dumpTuples in the current network
// namespace.
func openTupleDumper() (*tupleDumper, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
	if err != nil {
		return nil, fmt.Errorf("open conntrack dump socket: %w", err)
	}
	tv := unix.NsecToTimeval(dumpTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("conntrack dump socket: receive timeout: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("conntrack dump socket: bind: %w", err)
	}
	return &tupleDumper{fd: fd, buf: make([]byte, dumpBufSize)}, nil
}

// Close closes the socket.
func (d *tupleDumper) Close() error { return unix.Close(d.fd) }

// dumpTuples dumps the conntrack table and calls fn with each entry's
// tuples; it returns the number of entries. t is reused between calls. A
// dump that failed half-way leaves its rest in the socket, and the kernel
// refuses a new dump on it while the old one runs: the next call reads
// the old one to its end first.
func dumpTuples(d *tupleDumper, fn func(t *ctTuples)) (int, error) {
	if d.unfinished {
		if _, err := d.receive(func(*ctTuples) {}); err != nil {
			return 0, fmt.Errorf("finish an earlier dump: %w", err)
		}
	}
	d.seq++
	req := make([]byte, unix.NLMSG_HDRLEN+nfgenmsgLength) // nfgenmsg: AF_UNSPEC, version 0, res_id 0
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], uint16(netfilter.NFSubsysCTNetlink)<<8|ctnlMsgGet)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(req[8:], d.seq)
	if err := unix.Sendto(d.fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, fmt.Errorf("send: %w", err)
	}
	return d.receive(fn)
}

// receive reads the dump of d.seq to its end.
func (d *tupleDumper) receive(fn func(t *ctTuples)) (int, error) {
	d.unfinished = true
	var t ctTuples
	n := 0
	for {
		got, _, err := unix.Recvfrom(d.fd, d.buf, 0)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return n, fmt.Errorf("receive: %w", err)
		}
		for b := d.buf[:got]; len(b) >= unix.NLMSG_HDRLEN; {
			l := int(binary.NativeEndian.Uint32(b[0:4]))
			typ := binary.NativeEndian.Uint16(b[4:6])
			seq := binary.NativeEndian.Uint32(b[8:12])
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				return n, fmt.Errorf("receive: netlink message of %d bytes in %d", l, len(b))
			}
			m := b[unix.NLMSG_HDRLEN:l]
			b = b[min(len(b), (l+unix.NLMSG_ALIGNTO-1)&^(unix.NLMSG_ALIGNTO-1)):]
			if seq != d.seq {
				continue // the rest of a dump abandoned earlier
			}
			switch typ {
			case unix.NLMSG_DONE:
				d.unfinished = false
				return n, nil
			case unix.NLMSG_ERROR:
				d.unfinished = false
				if len(m) >= 4 {
					if code := int32(binary.NativeEndian.Uint32(m)); code != 0 {
						return n, fmt.Errorf("dump: %w", unix.Errno(-code))
					}
				}
				return n, nil
			}
			if len(m) < nfgenmsgLength {
				continue
			}
			t = ctTuples{}
			decodeEntry(m[nfgenmsgLength:], &t)
			n++
			fn(&t)
		}
	}
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

// decodeEntry reads the id and tuples of one conntrack message's
// attributes (after its nfgenmsg) into t.
func decodeEntry(b []byte, t *ctTuples) {
	walkAttrs(b, func(typ uint16, b []byte) {
		switch typ {
		case ctaTupleOrig:
			decodeTuple(b, t, true)
		case ctaTupleReply:
			decodeTuple(b, t, false)
		case ctaID:
			if len(b) == 4 {
				t.id = binary.BigEndian.Uint32(b)
			}
		}
	})
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
				case ctaProtoSrc:
					if orig && len(a) == 2 {
						t.origSport = binary.BigEndian.Uint16(a)
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
