package servers

import (
	"net/netip"
	"slices"
	"sync"

	"github.com/natlab/natlab/testbed/service"
)

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
func (p *peerSet) summary() service.PeerSummary {
	p.mu.Lock()
	all := make([]netip.Addr, 0, len(p.ips))
	for ip := range p.ips {
		all = append(all, ip)
	}
	s := service.PeerSummary{Distinct: len(all), MinPort: p.minPort, MaxPort: p.maxPort}
	p.mu.Unlock()
	slices.SortFunc(all, func(a, b netip.Addr) int { return a.Compare(b) })
	if len(all) > service.MaxListedPeers {
		all, s.Truncated = all[:service.MaxListedPeers], true
	}
	for _, ip := range all {
		s.IPs = append(s.IPs, ip.String())
	}
	return s
}
