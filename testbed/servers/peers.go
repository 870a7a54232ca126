package servers

import (
	"net/netip"
	"slices"
	"sync"
)

// MaxListedPeers caps how many distinct source IPs PeerSummary.IPs lists.
const MaxListedPeers = 64

// PeerSummary describes the sources a server saw: how many distinct IPs,
// the first MaxListedPeers of them in address order, and the lowest and
// highest source port. After a NAT these are the NAT's IPs and ports.
type PeerSummary struct {
	// Distinct is the number of distinct source IPs seen.
	Distinct int `json:"distinct"`
	// IPs lists up to MaxListedPeers of those IPs, sorted.
	IPs []string `json:"ips,omitempty"`
	// Truncated is true when IPs lists fewer than Distinct.
	Truncated bool `json:"truncated,omitempty"`
	// MinPort is the lowest source port seen (0 when none was seen).
	MinPort uint16 `json:"min_port"`
	// MaxPort is the highest source port seen (0 when none was seen).
	MaxPort uint16 `json:"max_port"`
}

// peerSet accumulates the sources a server saw.
type peerSet struct {
	mu      sync.Mutex
	ips     map[netip.Addr]struct{}
	minPort uint16
	maxPort uint16
}

// add records one source address; invalid addresses are ignored.
func (p *peerSet) add(ap netip.AddrPort) {
	if !ap.IsValid() {
		return
	}
	ip, port := ap.Addr().Unmap(), ap.Port()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ips == nil {
		p.ips = make(map[netip.Addr]struct{})
	}
	if len(p.ips) == 0 || port < p.minPort {
		p.minPort = port
	}
	if len(p.ips) == 0 || port > p.maxPort {
		p.maxPort = port
	}
	p.ips[ip] = struct{}{}
}

// summary returns what the set holds now.
func (p *peerSet) summary() PeerSummary {
	p.mu.Lock()
	all := make([]netip.Addr, 0, len(p.ips))
	for ip := range p.ips {
		all = append(all, ip)
	}
	s := PeerSummary{Distinct: len(all), MinPort: p.minPort, MaxPort: p.maxPort}
	p.mu.Unlock()
	slices.SortFunc(all, func(a, b netip.Addr) int { return a.Compare(b) })
	if len(all) > MaxListedPeers {
		all, s.Truncated = all[:MaxListedPeers], true
	}
	for _, ip := range all {
		s.IPs = append(s.IPs, ip.String())
	}
	return s
}
