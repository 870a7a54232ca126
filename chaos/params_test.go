package chaos_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/chaos"
	"github.com/natlab/natlab/internal/field"
	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/service"
)

// paramSpec is a small normalized testbed: a NAT with two IPs, one
// client host, an HTTP backend and a registrar.
func paramSpec() *testbed.Spec {
	s := testbed.Spec{
		NATs:    []testbed.NATSpec{{IPs: 2, Ports: portrange.Range{First: 1024, Last: 1279}}},
		Clients: []testbed.ClientSpec{{Name: "client", Addresses: 10}},
		Backends: []testbed.BackendSpec{
			{Name: "api", Protocol: service.HTTP1, Port: 8080},
			{Name: "reg", Protocol: service.Registrar, Port: 9000},
		},
	}
	s.Normalize()
	return &s
}

// standbySpec has a running (web) and a standby (more) client host
// behind a Cloud NAT.
func standbySpec() *testbed.Spec {
	s := testbed.Spec{
		NATs:     []testbed.NATSpec{{IPs: 1, Profile: testbed.ProfileGCPCloudNAT}},
		Clients:  []testbed.ClientSpec{{Name: "web", Addresses: 2}, {Name: "more", Addresses: 2, Standby: true}},
		Backends: []testbed.BackendSpec{{Name: "api", Protocol: service.HTTP1, Port: 8080}},
	}
	s.Normalize()
	return &s
}

// Every kind validates its params and reports every problem at once,
// saying what would be valid.
func TestValidateParams(t *testing.T) {
	cases := []struct {
		kind   string
		params map[string]any
		errs   []string // substrings; none means valid
	}{
		{"sysctl", map[string]any{"set": map[string]any{"net.ipv4.ip_forward": 0}}, nil},
		{"sysctl", map[string]any{"set": map[string]any{"net.ipv4.tcp_rmem": "4096 87380 6291456", "net.ipv4.ip_forward": true}}, nil},
		{"sysctl", map[string]any{}, []string{"give either set"}},
		{"sysctl", map[string]any{"set": map[string]any{"kernel.pid_max": 5, "net..x": 1, "net.ipv4.ip_forward": []any{1}}, "bogus": 1},
			[]string{"only net.* keys", "malformed key", "want a number or a string, got a list", "bogus: unknown parameter, valid ones are: set, file"}},
		{"sysctl", map[string]any{"file": "/nonexistent/x.conf"}, []string{"file: open /nonexistent/x.conf"}},
		{"conntrack-flush", nil, nil},
		{"conntrack-flush", map[string]any{"origin": "198.18.0.0/24", "destination": "api", "port": 8080, "protocol": "tcp"}, nil},
		{"conntrack-flush", map[string]any{"port": 70000, "protocol": "icmp"}, []string{"port: 70000 is out of range, want 1-65535", `protocol: "icmp" is not valid, want one of: tcp, udp`}},
		{"snat", map[string]any{"ports": "1024-1087"}, nil},
		{"snat", map[string]any{"ips": 2, "split": "per-block", "port_selection": "fully-random"}, nil},
		{"snat", map[string]any{}, []string{"no change given"}},
		{"snat", map[string]any{"ports": "2000-1000", "ips": 0, "split": "per-host", "port_selection": "sequential"},
			[]string{"first port 2000 is above last port 1000", "ips: 0 is out of range", `split: "per-host" is not valid, want one of: per-block`, "want one of: default, random, fully-random"}},
		{"conntrack-timeouts", map[string]any{"tcp_time_wait": "30s", "udp": 10}, nil},
		{"conntrack-timeouts", map[string]any{"tcp_time_wait": "1.5s", "udp": "soon", "tcp_wait": 3},
			[]string{"not a whole number of seconds", `"soon": want a duration`, "tcp_wait: unknown parameter, valid ones are: generic, icmp, tcp_close"}},
		{"conntrack-timeouts", map[string]any{}, []string{"no timeout given"}},
		{"link", map[string]any{"interface": "wan0"}, nil},
		{"link", map[string]any{"iface": "wan0"}, []string{"iface: unknown parameter, valid ones are: interface"}},
		{"drop", map[string]any{"percent": 30}, nil},
		{"drop", map[string]any{"blackhole": "api"}, nil},
		{"drop", map[string]any{"percent": 130, "blackhole": "api"}, []string{"not both or neither", "percent: 130 is out of range, want 1-100"}},
		{"drop", map[string]any{"percent": 12.5}, []string{"12.5: want a whole number"}},
		{"kill", nil, nil},
		{"kill", map[string]any{"signal": 9}, []string{"signal: unknown parameter"}},
		{"restart", nil, nil},
		{"saturate", map[string]any{"limit": 1, "latency": "2s"}, nil},
		{"saturate", map[string]any{"latency": -1}, []string{"limit: required", "latency: -1s is too short, want at least 0s"}},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			host := "nat"
			if tc.kind == "saturate" {
				host = "reg"
			}
			_, err := chaos.Catalog{}.Build(tc.kind, host, paramSpec(), tc.params)
			if len(tc.errs) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, want := range tc.errs {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestCatalog(t *testing.T) {
	names := chaos.Catalog{}.Kinds()
	assert.Equal(t, []string{"conntrack-flush", "conntrack-timeouts", "drop", "kill", "link", "nat-config", "restart", "saturate", "snat", "sysctl", "vm-start", "vm-stop"}, names)
	_, err := chaos.Catalog{}.Build("flood", "nat", paramSpec(), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown fault kind "flood", valid kinds: conntrack-flush, conntrack-timeouts, drop`)
	for _, k := range chaos.Kinds() {
		assert.NotEmpty(t, k.Summary, k.Name)
		got, ok := chaos.Lookup(k.Name)
		assert.True(t, ok)
		assert.Equal(t, k.Name, got.Name)
	}
	_, ok := chaos.Lookup("nope")
	assert.False(t, ok)
}

// A fault is built for its host: the kind must fit the host's role, and
// what it names (interfaces, NAT IPs, servers, hosts) must exist in the
// testbed. Each problem is a field error of the key that asks for it and
// says what would be valid.
func TestBuildChecksTheTarget(t *testing.T) {
	twoBlocks := func(s *testbed.Spec) {
		s.NATs[0].IPs = 1
		s.Clients = append(s.Clients, testbed.ClientSpec{Name: "batch", Block: "batch", Addresses: 1})
		s.Blocks = nil
	}
	static := func(s *testbed.Spec) { s.NATs[0].Allocation, s.NATs[0].PortsPerHost = testbed.AllocStatic, 8 }
	cases := []struct {
		name   string
		kind   string
		host   string
		params map[string]any
		spec   func(*testbed.Spec)
		path   string // "" for a fault that builds
		want   string
	}{
		{"kill on a client", "kill", "client", nil, nil, "host", `"client" is a client host; kill applies to a NAT box or a backend: nat, api, reg`},
		{"restart on a client", "restart", "client", nil, nil, "host", "restart applies to a NAT box or a backend"},
		{"link on a client", "link", "client", nil, nil, "host", "link applies to a NAT box or a backend: nat, api, reg"},
		{"flush on a client", "conntrack-flush", "client", nil, nil, "host", "conntrack-flush applies to a NAT box: nat"},
		{"snat on a backend", "snat", "api", map[string]any{"ports": "1024-1087"}, nil, "host", `"api" is a backend; snat applies to a NAT box: nat`},
		{"drop on a backend", "drop", "api", map[string]any{"percent": 5}, nil, "host", "drop applies to a NAT box: nat"},
		{"timeouts on a backend", "conntrack-timeouts", "api", map[string]any{"udp": 5}, nil, "host", "applies to a NAT box: nat"},
		{"saturate on the NAT", "saturate", "nat", map[string]any{"limit": 1}, nil, "host", "saturate applies to a backend: api, reg"},
		{"saturate a backend without a registrar", "saturate", "api", map[string]any{"limit": 1}, nil, "host", "backend api serves no registrar or rendezvous (only they have a dependency); such backends: reg"},
		{"saturate a server that is not a registrar", "saturate", "reg", map[string]any{"limit": 1, "server": "http1:8080"}, nil, "server", `"http1:8080" is not a registrar or rendezvous server of reg: its servers with a dependency are registrar:9000`},
		{"saturate a rendezvous server", "saturate", "rv", map[string]any{"limit": 1, "server": "rendezvous:3478"}, func(s *testbed.Spec) {
			s.Backends = append(s.Backends, testbed.BackendSpec{Name: "rv", Protocol: service.Rendezvous, Port: 3478})
		}, "", ""},
		{"saturate a registrar server", "saturate", "reg", map[string]any{"limit": 1, "server": "registrar:9000"}, nil, "", ""},
		{"sysctl on a client", "sysctl", "client", map[string]any{"set": map[string]any{"net.ipv4.ip_local_port_range": "40000 40099"}}, nil, "", ""},
		{"snat with more IPs than the NAT has", "snat", "nat", map[string]any{"ips": 5}, nil, "ips", "5 is more than nat has (2 NAT IPs on wan0): want 1 to 2, or give the NAT more ips in the testbed"},
		{"snat with one IP", "snat", "nat", map[string]any{"ips": 5}, func(s *testbed.Spec) { s.NATs[0].IPs = 1 }, "ips", "5 is more than nat has (1 NAT IP on wan0): want 1, or give the NAT more ips in the testbed"},
		{"snat split without an IP per block", "snat", "nat", map[string]any{"split": "per-block"}, twoBlocks, "split", "per-block: nat has 1 NAT IP for 2 origin blocks: give the NAT at least 2 ips in the testbed"},
		{"snat ports on static slices", "snat", "nat", map[string]any{"ports": "1024-1087"}, static, "ports", "uses static per-host port slices"},
		{"snat port selection on static slices", "snat", "nat", map[string]any{"port_selection": "random"}, static, "", ""},
		{"link on a NAT's LAN", "link", "nat", map[string]any{"interface": "lan0"}, nil, "interface", `"lan0" on nat carries static routes the kernel removes on down, and no agent operation restores them: only wan0 can go down and come back intact`},
		{"link on an interface the NAT lacks", "link", "nat", map[string]any{"interface": "eth5"}, nil, "interface", `nat has no interface "eth5": its interfaces are wan0, lan0, and link takes down wan0`},
		{"link on a backend's LAN name", "link", "api", map[string]any{"interface": "lan0"}, nil, "interface", `api has no interface "lan0": its interfaces are eth0, and link takes down eth0`},
		{"link on a backend", "link", "api", nil, nil, "", ""},
		{"flush to an unknown backend", "conntrack-flush", "nat", map[string]any{"destination": "apii"}, nil, "destination", `"apii" is not a prefix, an address, a backend, a client host or an origin block of this testbed (names: client, api, reg, clients)`},
		{"blackhole an unknown host", "drop", "nat", map[string]any{"blackhole": "db"}, nil, "blackhole", `"db" is not a prefix`},
		{"blackhole an IPv6 prefix", "drop", "nat", map[string]any{"blackhole": "2001:db8::/32"}, nil, "blackhole", "want an IPv4 address or prefix"},
		{"sysctl value of the wrong shape", "sysctl", "nat", map[string]any{"set": map[string]any{"net.ipv4.ip_forward": "banana"}}, nil, "set[net.ipv4.ip_forward]", `sysctl net.ipv4.ip_forward = "banana": want 0 or 1 (a switch)`},
		{"sysctl key this kernel lacks", "sysctl", "nat", map[string]any{"set": map[string]any{"net.ipv4.no_such_key": 1}}, nil, "set[net.ipv4.no_such_key]", "no such key on this kernel"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := paramSpec()
			if tc.spec != nil {
				tc.spec(spec)
				spec.Normalize()
				require.NoError(t, spec.Validate())
			}
			built, err := chaos.Catalog{}.Build(tc.kind, tc.host, spec, tc.params)
			if tc.path == "" {
				require.NoError(t, err)
				_, ok := built.(chaos.Fault)
				assert.True(t, ok, "Build returns the fault")
				return
			}
			require.Error(t, err)
			fields, other := field.List(err)
			require.Empty(t, other, "only field errors")
			require.Len(t, fields, 1, "%v", err)
			assert.Equal(t, tc.path, fields[0].Path)
			assert.Contains(t, fields[0].Msg, tc.want)
			_, err = chaos.New(tc.kind, tc.host, spec, tc.params)
			require.Error(t, err, "New checks as Build does")
		})
	}
}

// Every fault names the state it touches, so that the scenario parser
// can refuse two that overlap on it.
func TestFaultsNameTheStateTheyTouch(t *testing.T) {
	spec := paramSpec()
	cases := []struct {
		kind, host string
		params     map[string]any
		touches    []string
	}{
		{"sysctl", "nat", map[string]any{"set": map[string]any{"net.ipv4.ip_forward": 0, "net/ipv4/tcp_fin_timeout": 30}}, []string{"sysctl net.ipv4.ip_forward", "sysctl net.ipv4.tcp_fin_timeout"}},
		{"conntrack-timeouts", "nat", map[string]any{"udp": 5}, []string{"sysctl net.netfilter.nf_conntrack_udp_timeout"}},
		{"snat", "nat", map[string]any{"port_selection": "random"}, []string{"snat"}},
		{"nat-config", "nat", map[string]any{"ips": 1}, []string{"snat"}},
		{"link", "nat", nil, []string{"link wan0"}},
		{"link", "api", nil, []string{"link eth0"}},
		{"drop", "nat", map[string]any{"percent": 5}, []string{"drop rules"}},
		{"kill", "api", nil, []string{chaos.EveryState}},
		{"restart", "nat", nil, []string{chaos.EveryState}},
		{"saturate", "reg", map[string]any{"limit": 1}, []string{"dependency registrar:9000"}},
		{"conntrack-flush", "nat", nil, nil},
		{"vm-start", "nat", map[string]any{"client": "more"}, []string{"vms more"}},
		{"vm-stop", "nat", map[string]any{"client": "web"}, []string{"vms web"}},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		seen[tc.kind] = true
		s := spec
		if strings.HasPrefix(tc.kind, "vm-") {
			s = standbySpec()
		}
		f, err := chaos.New(tc.kind, tc.host, s, tc.params)
		require.NoError(t, err, tc.kind)
		tf, ok := f.(chaos.Toucher)
		require.True(t, ok, "%s names no state", tc.kind)
		assert.ElementsMatch(t, tc.touches, tf.Touches(), tc.kind)
	}
	for _, k := range chaos.Kinds() {
		assert.True(t, seen[k.Name], "kind %s is not covered", k.Name)
		assert.NotEmpty(t, k.Roles, "kind %s declares no roles", k.Name)
	}
}
