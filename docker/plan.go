package docker

import (
	"fmt"
	"net/netip"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/testbed"
)

// wanNet is the key of the public network.
const wanNet = "wan"

// netPlan is one docker network of a run.
type netPlan struct {
	Key     string // "wan" or the block's LAN name
	Subnet  netip.Prefix
	Gateway netip.Addr // docker's bridge address: the subnet's last usable one
}

// attach is a container's address on one network.
type attach struct {
	Net string
	IP  netip.Addr
}

// hostPlan is one container: its networks (the first one it is created
// on) and what its agent applies once it runs.
type hostPlan struct {
	Name     string
	Role     testbed.Role
	Networks []attach
	Setup    wire.NetSetup
}

// planRun turns a Layout into docker networks and containers with the same
// topology as the netns backend. Docker takes one address per network for
// its bridge: the last usable address of each subnet, which must be free
// in the Layout.
func planRun(l *testbed.Layout) ([]netPlan, []hostPlan, error) {
	nets := []netPlan{{Key: wanNet, Subnet: l.Public, Gateway: lastUsable(l.Public)}}
	used := map[string]map[netip.Addr]string{wanNet: {}}
	for _, b := range l.Blocks {
		nets = append(nets, netPlan{Key: b.LAN, Subnet: b.Link, Gateway: lastUsable(b.Link)})
		used[b.LAN] = map[netip.Addr]string{}
	}
	subnet := map[string]netip.Prefix{}
	for _, n := range nets {
		subnet[n.Key] = n.Subnet
	}
	take := func(net string, ip netip.Addr, who string) error {
		if !subnet[net].Contains(ip) {
			return fmt.Errorf("docker plan: %s's address %s is outside %s", who, ip, subnet[net])
		}
		if other, ok := used[net][ip]; ok {
			return fmt.Errorf("docker plan: %s and %s both want %s", other, who, ip)
		}
		used[net][ip] = who
		return nil
	}

	var hosts []hostPlan
	for _, n := range l.NATs {
		if len(n.IPs) == 0 {
			return nil, nil, fmt.Errorf("docker plan: nat %s has no NAT IP", n.Name)
		}
		h := hostPlan{Name: n.Name, Role: testbed.RoleNAT, Setup: wire.NetSetup{DropDefault: true}}
		wan := wire.LinkPlan{Has: n.IPs[0], Rename: testbed.WANInterface}
		for i, ip := range n.IPs {
			if err := take(wanNet, ip, n.Name); err != nil {
				return nil, nil, err
			}
			if i > 0 {
				wan.Addrs = append(wan.Addrs, netip.PrefixFrom(ip, l.Public.Bits()))
			}
		}
		h.Networks = append(h.Networks, attach{Net: wanNet, IP: n.IPs[0]})
		h.Setup.Links = append(h.Setup.Links, wan)
		for _, b := range l.Blocks {
			if b.NAT != n.Name {
				continue
			}
			if err := take(b.LAN, b.Gateway, n.Name); err != nil {
				return nil, nil, err
			}
			h.Networks = append(h.Networks, attach{Net: b.LAN, IP: b.Gateway})
			h.Setup.Links = append(h.Setup.Links, wire.LinkPlan{Has: b.Gateway, Rename: b.LAN})
			for _, c := range l.Hosts {
				if c.Block == b.Name {
					h.Setup.Routes = append(h.Setup.Routes, wire.RoutePlan{Dst: c.Prefix, Via: c.Link})
				}
			}
		}
		hosts = append(hosts, h)
	}
	for _, c := range l.Hosts {
		b, ok := l.Block(c.Block)
		if !ok {
			return nil, nil, fmt.Errorf("docker plan: client %s is in unknown block %q", c.Name, c.Block)
		}
		if err := take(b.LAN, c.Link, c.Name); err != nil {
			return nil, nil, err
		}
		lp := wire.LinkPlan{Has: c.Link, Rename: testbed.HostInterface}
		for _, s := range c.Sources {
			lp.Addrs = append(lp.Addrs, netip.PrefixFrom(s, 32))
		}
		role := testbed.RoleClient
		if c.Role != "" {
			role = c.Role
		}
		routes := []wire.RoutePlan{{Via: b.Gateway}}
		for _, r := range testbed.AppRoutes(l, c) {
			routes = append(routes, wire.RoutePlan{Dst: r.Dst, Via: r.Via})
		}
		hosts = append(hosts, hostPlan{
			Name:     c.Name,
			Role:     role,
			Networks: []attach{{Net: b.LAN, IP: c.Link}},
			Setup: wire.NetSetup{
				DropDefault: true,
				Links:       []wire.LinkPlan{lp},
				Routes:      routes,
			},
		})
	}
	for _, be := range l.Backends {
		if err := take(wanNet, be.Addr, be.Name); err != nil {
			return nil, nil, err
		}
		hosts = append(hosts, hostPlan{
			Name:     be.Name,
			Role:     testbed.RoleBackend,
			Networks: []attach{{Net: wanNet, IP: be.Addr}},
			Setup:    wire.NetSetup{DropDefault: true, Links: []wire.LinkPlan{{Has: be.Addr, Rename: testbed.HostInterface}}},
		})
	}
	for _, n := range nets {
		if who, ok := used[n.Key][n.Gateway]; ok {
			return nil, nil, fmt.Errorf("docker plan: docker's bridge address %s on %s collides with %s", n.Gateway, n.Key, who)
		}
	}
	return nets, hosts, nil
}

// lastUsable is the highest address of p below its broadcast address.
func lastUsable(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= 1<<(32-p.Bits()) - 1
	v--
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
