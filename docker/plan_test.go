package docker

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/testbed"
)

func TestLastUsable(t *testing.T) {
	for _, tc := range []struct{ prefix, want string }{
		{"198.19.0.0/24", "198.19.0.254"},
		{"198.18.32.0/25", "198.18.32.126"},
		{"198.18.32.128/25", "198.18.32.254"},
		{"198.18.0.0/19", "198.18.31.254"},
	} {
		assert.Equal(t, tc.want, lastUsable(netip.MustParsePrefix(tc.prefix)).String(), tc.prefix)
	}
}

func plannedLayout(t *testing.T, spec testbed.Spec) *testbed.Layout {
	t.Helper()
	spec.Normalize()
	require.NoError(t, spec.Validate())
	l, err := testbed.Plan(&spec, 1)
	require.NoError(t, err)
	return l
}

// The plan mirrors the netns topology: the NAT on the public network with
// its first NAT IP (renamed wan0, the others added) and on each block's
// link net with the block's gateway (renamed lanN, routes to the clients'
// source prefixes); clients on their block with their sources and a default
// route via the NAT; backends on the public network. Docker's bridges take
// each subnet's last usable address.
func TestPlanMirrorsNetnsTopology(t *testing.T) {
	l := plannedLayout(t, testbed.Spec{
		NATs:     []testbed.NATSpec{{IPs: 3}},
		Clients:  []testbed.ClientSpec{{Name: "c1", Addresses: 10}, {Name: "c2", Addresses: 2}},
		Backends: []testbed.BackendSpec{{Name: "api", Protocol: "tcp-echo", Port: 8080}},
	})
	nets, hosts, err := planRun(l)
	require.NoError(t, err)
	require.Len(t, nets, 2)
	assert.Equal(t, netPlan{Key: wanNet, Subnet: l.Public, Gateway: lastUsable(l.Public)}, nets[0])
	b := l.Blocks[0]
	assert.Equal(t, netPlan{Key: b.LAN, Subnet: b.Link, Gateway: lastUsable(b.Link)}, nets[1])

	byName := map[string]hostPlan{}
	for _, h := range hosts {
		byName[h.Name] = h
	}
	require.Len(t, byName, 4)
	nat := byName["nat"]
	ips := l.NATs[0].IPs
	assert.Equal(t, []attach{{wanNet, ips[0]}, {b.LAN, b.Gateway}}, nat.Networks)
	assert.True(t, nat.Setup.DropDefault)
	assert.Equal(t, []wire.LinkPlan{
		{Has: ips[0], Rename: testbed.WANInterface, Addrs: []netip.Prefix{netip.PrefixFrom(ips[1], 24), netip.PrefixFrom(ips[2], 24)}},
		{Has: b.Gateway, Rename: b.LAN},
	}, nat.Setup.Links)
	require.Len(t, nat.Setup.Routes, 2)
	for i, c := range l.Hosts {
		assert.Equal(t, wire.RoutePlan{Dst: c.Prefix, Via: c.Link}, nat.Setup.Routes[i])
		cp := byName[c.Name]
		assert.Equal(t, []attach{{b.LAN, c.Link}}, cp.Networks)
		assert.Len(t, cp.Setup.Links[0].Addrs, len(c.Sources))
		assert.Equal(t, []wire.RoutePlan{{Via: b.Gateway}}, cp.Setup.Routes, "clients leave through the NAT")
	}
	assert.Equal(t, []attach{{wanNet, l.Backends[0].Addr}}, byName["api"].Networks)
	assert.True(t, byName["api"].Setup.DropDefault)
}

// An address plan that would hand docker's bridge address to a host, or
// put a host outside its network, is refused.
func TestPlanRefusesConflicts(t *testing.T) {
	pub := netip.MustParsePrefix("198.19.0.0/24")
	link := netip.MustParsePrefix("198.18.0.0/25")
	base := func() *testbed.Layout {
		return &testbed.Layout{
			Public:   pub,
			NATs:     []testbed.NATLayout{{Name: "nat", IPs: []netip.Addr{netip.MustParseAddr("198.19.0.1")}}},
			Blocks:   []testbed.BlockLayout{{Name: "default", NAT: "nat", Link: link, Gateway: netip.MustParseAddr("198.18.0.1"), LAN: "lan0"}},
			Hosts:    []testbed.ClientLayout{{Name: "c", Block: "default", Link: netip.MustParseAddr("198.18.0.2")}},
			Backends: []testbed.BackendLayout{{Name: "api", Addr: netip.MustParseAddr("198.19.0.129")}},
		}
	}
	for _, tc := range []struct {
		name   string
		change func(l *testbed.Layout)
		want   string
	}{
		{"backend on the bridge address", func(l *testbed.Layout) { l.Backends[0].Addr = netip.MustParseAddr("198.19.0.254") }, "docker's bridge address 198.19.0.254 on wan collides with api"},
		{"client on the bridge address", func(l *testbed.Layout) { l.Hosts[0].Link = netip.MustParseAddr("198.18.0.126") }, "collides with c"},
		{"two hosts on one address", func(l *testbed.Layout) { l.Backends[0].Addr = netip.MustParseAddr("198.19.0.1") }, "nat and api both want 198.19.0.1"},
		{"client outside its link net", func(l *testbed.Layout) { l.Hosts[0].Link = netip.MustParseAddr("198.18.0.200") }, "outside 198.18.0.0/25"},
		{"nat without IPs", func(l *testbed.Layout) { l.NATs[0].IPs = nil }, "nat nat has no NAT IP"},
		{"unknown block", func(l *testbed.Layout) { l.Hosts[0].Block = "other" }, `unknown block "other"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := base()
			_, _, err := planRun(l)
			require.NoError(t, err, "the base layout is valid")
			tc.change(l)
			_, _, err = planRun(l)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
