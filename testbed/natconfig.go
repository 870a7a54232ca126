package testbed

import (
	"fmt"
	"net/netip"

	"github.com/natlab/natlab/testbed/natcfg"
)

// WANInterface is the NAT box's outside interface in every backend.
const WANInterface = "wan0"

// HostInterface is the one interface of a client host or a backend in
// every backend. A NAT box has WANInterface and one LAN interface per
// origin block behind it (BlockLayout.LAN).
const HostInterface = "eth0"

// NATConfig turns the spec of NAT box name into the config its agent
// applies: one pool per PoolSpec (or one shared pool), NAT IPs handed out
// in order, static slices computed from the clients' source addresses;
// for profile gcp-cloud-nat one pool with a first block per VM; for
// aws-nat-gateway one pool of all NAT IPs.
func NATConfig(s *Spec, l *Layout, name string) (natcfg.Config, error) {
	var spec *NATSpec
	for i := range s.NATs {
		if s.NATs[i].Name == name {
			spec = &s.NATs[i]
		}
	}
	nl, ok := l.NAT(name)
	if spec == nil || !ok {
		return natcfg.Config{}, fmt.Errorf("unknown NAT %q", name)
	}
	switch spec.Profile {
	case ProfileGCPCloudNAT:
		return gcpNATConfig(spec, l, nl, name)
	case ProfileAWSNATGateway:
		return awsNATConfig(spec, l, nl, name)
	}
	cfg := natcfg.Config{
		WAN:           WANInterface,
		PortSelection: spec.PortSelection,
		Hold:          spec.Hold,
		ConnLimit:     spec.ConnLimit,
	}
	pools := spec.Pools
	if len(pools) == 0 {
		shared := PoolSpec{Name: "shared", IPs: spec.IPs}
		for _, b := range l.Blocks {
			if b.NAT == name {
				shared.Blocks = append(shared.Blocks, b.Name)
			}
		}
		pools = []PoolSpec{shared}
	}
	next := 0
	for i, ps := range pools {
		p := natcfg.Pool{Name: ps.Name, Ports: spec.Ports}
		if p.Name == "" {
			p.Name = fmt.Sprintf("pool%d", i)
		}
		if next+ps.IPs > len(nl.IPs) {
			return natcfg.Config{}, fmt.Errorf("nat %s: pools need %d NAT IPs, it has %d", name, next+ps.IPs, len(nl.IPs))
		}
		p.IPs = append(p.IPs, nl.IPs[next:next+ps.IPs]...)
		next += ps.IPs
		var sources []netip.Addr
		for _, bn := range ps.Blocks {
			b, ok := l.Block(bn)
			if !ok {
				return natcfg.Config{}, fmt.Errorf("nat %s: unknown block %q", name, bn)
			}
			p.Sources = append(p.Sources, b.Prefix)
			for _, c := range l.Hosts {
				if c.Block == bn {
					sources = append(sources, c.Link)
					sources = append(sources, c.Sources...)
				}
			}
		}
		if spec.Allocation == AllocStatic {
			slices, err := natcfg.StaticSlices(sources, p.IPs, spec.Ports, spec.PortsPerHost)
			if err != nil {
				return natcfg.Config{}, fmt.Errorf("nat %s pool %s: %w", name, p.Name, err)
			}
			p.Slices = slices
		}
		cfg.Pools = append(cfg.Pools, p)
	}
	return cfg, nil
}

// NATSysctls is what a NAT box sets before its rules: forwarding on, then
// the spec's own sysctls in order (they may turn forwarding off again, as a
// bad config run did). The managed-mode hold needs no sysctl: natbox gives
// closed flows a ct timeout policy of its own.
func NATSysctls(spec NATSpec) []natcfg.Sysctl {
	return append([]natcfg.Sysctl{{Key: "net.ipv4.ip_forward", Value: "1"}}, spec.Sysctls...)
}
