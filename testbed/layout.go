package testbed

import (
	"fmt"
	"math/bits"
	"net/netip"
	"sort"
)

// Address plan. Every run takes one slot: a /19 of client space and a
// /24 public subnet, all in 198.18.0.0/15 (RFC 2544), so that runs which
// share an L2 domain (the docker backend) never overlap. A client host may
// carry 4,000 addresses, so a run's client space stays a /19; the /15
// holds sixteen of them: slots 0-14 take the first fifteen (slots 0-7 all
// of 198.18.0.0/16, 8-14 198.19.0.0-198.19.223.255) and the last,
// 198.19.224.0/19, holds every slot's public /24 (198.19.224+slot.0/24).
const (
	Slots     = 15
	MaxNATIPs = 100 // public .1 - .100
	// firstBackend is the host part of the first backend address.
	firstBackend = 129
	linkBits     = 25 // each origin block's link net: gateway + client hosts
	clientBits   = 19 // a slot's client space
)

var (
	testbedSpace = netip.MustParsePrefix("198.18.0.0/15")
	// publicSpace holds the public /24 of every slot.
	publicSpace = netip.MustParsePrefix("198.19.224.0/19")
)

// Layout is the address plan of one run.
type Layout struct {
	Slot     int             `json:"slot"`
	Clients  netip.Prefix    `json:"client_space"`
	Public   netip.Prefix    `json:"public"`
	NATs     []NATLayout     `json:"nats"`
	Blocks   []BlockLayout   `json:"blocks"`
	Hosts    []ClientLayout  `json:"clients"`
	Backends []BackendLayout `json:"backends"`
}

// NATLayout is one NAT box's addresses.
type NATLayout struct {
	Name string       `json:"name"`
	IPs  []netip.Addr `json:"ips"`
}

// BlockLayout is one origin block: the subnet it owns, the link net its
// hosts share with the NAT, and the NAT's gateway address there.
type BlockLayout struct {
	Name    string       `json:"name"`
	NAT     string       `json:"nat"`
	Prefix  netip.Prefix `json:"prefix"`
	Link    netip.Prefix `json:"link"`
	Gateway netip.Addr   `json:"gateway"`
	// LAN is the NAT-side interface name for this block ("lan0", ...).
	LAN string `json:"lan"`
}

// ClientLayout is one client host: its address on the block's link net
// and the routed prefix its source addresses come from.
type ClientLayout struct {
	Name    string       `json:"name"`
	Block   string       `json:"block"`
	Link    netip.Addr   `json:"link"`
	Prefix  netip.Prefix `json:"prefix"`
	Sources []netip.Addr `json:"sources"`
	// Role is RoleApp for an app host, "" for a client host.
	Role Role `json:"role,omitempty"`
	// Standby: the host's VMs have not started (ClientSpec.Standby).
	Standby bool `json:"standby,omitempty"`
}

// BackendLayout is one backend host's address on the public subnet.
type BackendLayout struct {
	Name string     `json:"name"`
	Addr netip.Addr `json:"addr"`
}

// Plan lays out the addresses of a normalized Spec in the given slot.
func Plan(s *Spec, slot int) (*Layout, error) {
	if slot < 0 || slot >= Slots {
		return nil, fmt.Errorf("slot %d: valid slots are 0-%d", slot, Slots-1)
	}
	l := &Layout{
		Slot:    slot,
		Clients: netip.PrefixFrom(hostAddr(testbedSpace, slot<<(32-clientBits)), clientBits),
		Public:  netip.PrefixFrom(hostAddr(publicSpace, slot<<8), 24),
	}

	next := 1
	for _, n := range s.NATs {
		nl := NATLayout{Name: n.Name}
		for range n.IPs {
			nl.IPs = append(nl.IPs, hostAddr(l.Public, next))
			next++
		}
		l.NATs = append(l.NATs, nl)
	}
	for i, b := range s.Backends {
		l.Backends = append(l.Backends, BackendLayout{Name: b.Name, Addr: hostAddr(l.Public, firstBackend+i)})
	}

	// Size every block: a link net, then each host's source prefix.
	type sized struct {
		block BlockSpec
		bits  int // prefix length of the block
		hosts []ClientSpec
	}
	var all []sized
	for _, b := range s.Blocks {
		var hosts []ClientSpec
		for _, c := range append(append([]ClientSpec(nil), s.Clients...), s.appHosts()...) {
			if c.Block == b.Name {
				hosts = append(hosts, c)
			}
		}
		size := 1 << (32 - linkBits)
		for _, h := range hosts {
			size += 1 << (32 - sourceBits(h.Addresses))
		}
		all = append(all, sized{block: b, bits: 32 - ceilLog2(size), hosts: hosts})
	}
	// Largest blocks first keeps every block aligned without gaps.
	order := make([]int, len(all))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return all[order[a]].bits < all[order[b]].bits })
	offset := 0
	prefixes := make([]netip.Prefix, len(all))
	for _, i := range order {
		size := 1 << (32 - all[i].bits)
		offset = alignUp(offset, size)
		if offset+size > 1<<(32-l.Clients.Bits()) {
			need := 0
			for _, b := range all {
				need += 1 << (32 - b.bits)
			}
			return nil, fmt.Errorf("client addresses do not fit: the origin blocks need %d addresses (a /%d link net each, and every client host's addresses rounded up to a power of two), "+
				"more than the %d a run has (a /%d): give fewer client hosts or addresses", need, linkBits, 1<<(32-l.Clients.Bits()), l.Clients.Bits())
		}
		prefixes[i] = netip.PrefixFrom(hostAddr(l.Clients, offset), all[i].bits)
		offset += size
	}
	for i, b := range all {
		bl := BlockLayout{
			Name:   b.block.Name,
			NAT:    b.block.NAT,
			Prefix: prefixes[i],
			Link:   netip.PrefixFrom(prefixes[i].Addr(), linkBits),
			LAN:    fmt.Sprintf("lan%d", i),
		}
		bl.Gateway = hostAddr(bl.Link, 1)
		l.Blocks = append(l.Blocks, bl)
		// Host source prefixes follow the link net, largest first.
		hosts := append([]ClientSpec(nil), b.hosts...)
		sort.SliceStable(hosts, func(x, y int) bool { return hosts[x].Addresses > hosts[y].Addresses })
		cursor := 1 << (32 - linkBits)
		for j, h := range hosts {
			size := 1 << (32 - sourceBits(h.Addresses))
			cursor = alignUp(cursor, size)
			hp := netip.PrefixFrom(hostAddr(bl.Prefix, cursor), sourceBits(h.Addresses))
			cursor += size
			cl := ClientLayout{Name: h.Name, Block: b.block.Name, Link: hostAddr(bl.Link, 2+j), Prefix: hp, Role: h.Role, Standby: h.Standby}
			for k := range h.Addresses {
				cl.Sources = append(cl.Sources, hostAddr(hp, k))
			}
			l.Hosts = append(l.Hosts, cl)
		}
	}
	// Keep client hosts in spec order for readers.
	index := map[string]int{}
	for i, c := range append(append([]ClientSpec(nil), s.Clients...), s.appHosts()...) {
		index[c.Name] = i
	}
	sort.SliceStable(l.Hosts, func(a, b int) bool { return index[l.Hosts[a].Name] < index[l.Hosts[b].Name] })
	return l, nil
}

// sourceBits is the prefix length of a host's source prefix holding n
// addresses.
func sourceBits(n int) int {
	return 32 - ceilLog2(max(n, 1))
}

func ceilLog2(n int) int {
	if n <= 1 {
		return 0
	}
	return bits.Len(uint(n - 1))
}

func alignUp(x, to int) int { return (x + to - 1) / to * to }

func hostAddr(p netip.Prefix, n int) netip.Addr {
	a := p.Masked().Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v += uint32(n)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// Block returns the layout of the named origin block.
func (l *Layout) Block(name string) (BlockLayout, bool) {
	for _, b := range l.Blocks {
		if b.Name == name {
			return b, true
		}
	}
	return BlockLayout{}, false
}

// NAT returns the layout of the named NAT box.
func (l *Layout) NAT(name string) (NATLayout, bool) {
	for _, n := range l.NATs {
		if n.Name == name {
			return n, true
		}
	}
	return NATLayout{}, false
}

// Backend returns the layout of the named backend.
func (l *Layout) Backend(name string) (BackendLayout, bool) {
	for _, b := range l.Backends {
		if b.Name == name {
			return b, true
		}
	}
	return BackendLayout{}, false
}

// Interfaces names the interfaces of host: a NAT box's WANInterface and
// the LAN interface of each block behind it, HostInterface of any other
// host; nil for a host the layout does not have.
func (l *Layout) Interfaces(host string) []string {
	if _, ok := l.NAT(host); ok {
		out := []string{WANInterface}
		for _, b := range l.Blocks {
			if b.NAT == host {
				out = append(out, b.LAN)
			}
		}
		return out
	}
	if _, ok := l.Backend(host); ok {
		return []string{HostInterface}
	}
	for _, h := range l.Hosts {
		if h.Name == host {
			return []string{HostInterface}
		}
	}
	return nil
}
