package scenario_test

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/chaos"
	"github.com/natlab/natlab/scenario"
)

// refuseBase is a valid scenario with the real fault catalog in mind: a
// NAT with one IP, a client host, an HTTP backend and a registrar, 20 s.
const refuseBase = `name: r
testbed:
  nat: {ips: 1, ports: 1024-1279}
  clients: {hosts: 1, addresses: 10}
  backends:
    - {name: api, protocol: http1, port: 8080}
    - {name: reg, protocol: registrar, port: 9000}
phases:
  - {name: p1, duration: 20s, load: {rate: 10/s}}
faults:
`

// refusal is a scenario natlab must refuse before anything is built: the
// exact position of each problem, and what its message must say (which
// includes what would be valid).
type refusal struct {
	name string
	src  string
	want map[string][]string // "line:col" -> substrings of the message there
}

func checkRefusals(t *testing.T, cases []refusal, opts scenario.Options) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := scenario.Parse("r.yaml", []byte(tc.src), opts)
			require.Error(t, err, "must be refused")
			assert.Nil(t, s)
			var list *scenario.Errors
			require.True(t, errors.As(err, &list), "want *scenario.Errors, got %T: %v", err, err)
			got := map[string]string{}
			for _, e := range list.List {
				got[scenario.Pos{Line: e.Line, Col: e.Col}.String()] += e.Msg + "\n"
			}
			for pos, subs := range tc.want {
				msg, ok := got[pos]
				if !assert.True(t, ok, "no problem at %s; got:\n%v", pos, err) {
					continue
				}
				for _, sub := range subs {
					assert.Contains(t, msg, sub, "at %s", pos)
				}
			}
			assert.Len(t, got, len(tc.want), "every problem, and only those:\n%v", err)
		})
	}
}

// Each fault kind fits some host roles, and may only name what its host
// has: refused at the host (or the parameter) with the hosts, IPs,
// interfaces or servers that would be valid.
func TestRefuseFaultsThatDoNotFitTheirHost(t *testing.T) {
	cases := []refusal{
		{"kill on a client host", refuseBase + "  - {at: 1s, kind: kill, host: client}\n",
			map[string][]string{"11:26": {`fault "faults[0]" (kill): host: "client" is a client host; kill applies to a NAT box or a backend: nat, api, reg`}}},
		{"link on a client host", refuseBase + "  - {at: 1s, kind: link, host: client}\n",
			map[string][]string{"11:26": {`host: "client" is a client host; link applies to a NAT box or a backend: nat, api, reg`}}},
		{"conntrack-flush on a client host", refuseBase + "  - {at: 1s, kind: conntrack-flush, host: client}\n",
			map[string][]string{"11:37": {`conntrack-flush applies to a NAT box: nat`}}},
		{"snat on a backend", refuseBase + "  - {at: 1s, kind: snat, host: api, ports: 1024-1087}\n",
			map[string][]string{"11:26": {`host: "api" is a backend; snat applies to a NAT box: nat`}}},
		{"drop on a backend", refuseBase + "  - {at: 1s, kind: drop, host: reg, percent: 10}\n",
			map[string][]string{"11:26": {`drop applies to a NAT box: nat`}}},
		{"saturate on a backend without a registrar", refuseBase + "  - {at: 1s, kind: saturate, host: api, limit: 1}\n",
			map[string][]string{"11:30": {`backend api serves no registrar or rendezvous (only they have a dependency); such backends: reg`}}},
		{"saturate on the NAT by default", refuseBase + "  - {at: 1s, kind: saturate, limit: 1}\n",
			map[string][]string{"11:20": {`host: "nat" is a NAT box; saturate applies to a backend: api, reg`}}},
		{"saturate a server the registrar does not have", refuseBase + "  - {at: 1s, kind: saturate, host: reg, limit: 1, server: registrar:8080}\n",
			map[string][]string{"11:51": {`"registrar:8080" is not a registrar or rendezvous server of reg: its servers with a dependency are registrar:9000`}}},
		{"snat with more NAT IPs than the NAT has", refuseBase + "  - {at: 1s, kind: snat, ips: 5}\n",
			map[string][]string{"11:26": {`ips: 5 is more than nat has (1 NAT IP on wan0): want 1, or give the NAT more ips in the testbed`}}},
		{"link on a LAN interface", refuseBase + "  - {at: 1s, kind: link, interface: lan0}\n",
			map[string][]string{"11:26": {`interface: "lan0" on nat carries static routes`, "only wan0 can go down and come back intact"}}},
		{"link on an interface the NAT does not have", refuseBase + "  - {at: 1s, kind: link, interface: eth1}\n",
			map[string][]string{"11:26": {`interface: nat has no interface "eth1": its interfaces are wan0, lan0, and link takes down wan0`}}},
		{"link on an interface a backend does not have", refuseBase + "  - {at: 1s, kind: link, host: api, interface: wan0}\n",
			map[string][]string{"11:37": {`api has no interface "wan0": its interfaces are eth0`}}},
		{"flush naming an unknown backend", refuseBase + "  - {at: 1s, kind: conntrack-flush, destination: apii}\n",
			map[string][]string{"11:37": {`destination: "apii" is not a prefix, an address, a backend, a client host or an origin block of this testbed (names: client, api, reg, clients)`}}},
		{"an unknown parameter with a typo", refuseBase + "  - {at: 1s, kind: drop, percnt: 10}\n",
			map[string][]string{"11:26": {`unknown parameter "percnt": did you mean "percent"? valid parameters are percent, blackhole`},
				"11:20": {"give either percent"}}},
		{"a kind that takes no parameters", refuseBase + "  - {at: 1s, kind: kill, signal: 9}\n",
			map[string][]string{"11:26": {`unknown parameter "signal": kill takes no parameters besides name, at, for, kind, host`}}},
		{"problems of the fault as a whole at its kind", refuseBase + "  - {at: 1s, kind: drop}\n",
			map[string][]string{"11:20": {`give either percent: 1-100 or blackhole`}}},
	}
	checkRefusals(t, cases, scenario.Options{Faults: chaos.Catalog{}})
}

// Two faults on one host whose windows overlap must not change the same
// state: refused at the later one, naming both and their lines.
func TestRefuseOverlappingFaults(t *testing.T) {
	cases := []refusal{
		{"two snat faults", refuseBase + "  - {name: shrink, at: 2s, for: 10s, kind: snat, ports: 1024-1087}\n  - {name: random, at: 5s, for: 2s, kind: snat, port_selection: random}\n",
			map[string][]string{"12:5": {`fault "random" (snat, line 12) overlaps fault "shrink" (snat, line 11) on nat from 5s to 7s, and both change snat`,
				"faults that change the same state of a host must not overlap, or the first revert undoes the other", `give "shrink" a for that ends by 5s`}}},
		{"two sysctl faults on one key", refuseBase + "  - {name: a, at: 2s, kind: sysctl, set: {net.ipv4.ip_forward: 0}}\n  - {name: b, at: 10s, for: 1s, kind: sysctl, set: {net.ipv4.ip_forward: 1, net.ipv4.tcp_fin_timeout: 30}}\n",
			map[string][]string{"12:5": {`fault "b" (sysctl, line 12) overlaps fault "a" (sysctl, line 11) on nat from 10s to 11s, and both change sysctl net.ipv4.ip_forward`}}},
		{"a sysctl and a conntrack timeout on one key", refuseBase + "  - {name: a, at: 2s, for: 5s, kind: conntrack-timeouts, udp: 5s}\n  - {name: b, at: 1s, for: 5s, kind: sysctl, set: {net.netfilter.nf_conntrack_udp_timeout: 9}}\n",
			map[string][]string{"12:5": {`both change sysctl net.netfilter.nf_conntrack_udp_timeout`, `move "a" after the end of "b"`}}},
		{"two link faults on one interface", refuseBase + "  - {name: a, at: 2s, for: 5s, kind: link}\n  - {name: b, at: 3s, for: 1s, kind: link, interface: wan0}\n",
			map[string][]string{"12:5": {`both change link wan0`}}},
		{"two drop faults", refuseBase + "  - {name: a, at: 2s, for: 5s, kind: drop, percent: 10}\n  - {name: b, at: 3s, kind: drop, blackhole: api}\n",
			map[string][]string{"12:5": {`on nat from 3s to 7s, and both change drop rules`}}},
		{"two saturate faults on one registrar", refuseBase + "  - {name: a, at: 2s, for: 5s, kind: saturate, host: reg, limit: 1}\n  - {name: b, at: 3s, for: 5s, kind: saturate, host: reg, limit: 2, server: registrar:9000}\n",
			map[string][]string{"12:5": {`both change dependency registrar:9000`}}},
		{"a kill and anything on its host", refuseBase + "  - {name: down, at: 2s, for: 5s, kind: kill}\n  - {name: flush, at: 3s, for: 1s, kind: conntrack-flush}\n",
			map[string][]string{"12:5": {`fault "flush" (conntrack-flush, line 12) overlaps fault "down" (kill, line 11) on nat from 3s to 4s, and "down" takes the host's agent away`}}},
		{"until the end of the run", refuseBase + "  - {name: a, at: 2s, kind: snat, ports: 1024-1087}\n  - {name: b, at: 15s, for: 2s, kind: snat, ports: 1024-1151}\n",
			map[string][]string{"12:5": {`on nat from 15s to 17s`}}},
	}
	checkRefusals(t, cases, scenario.Options{Faults: chaos.Catalog{}})

	// What may overlap: other state, other hosts, back to back.
	ok := refuseBase +
		"  - {name: snat, at: 2s, kind: snat, split: per-block}\n" +
		"  - {name: flush, at: 2s, for: 1s, kind: conntrack-flush}\n" + // a conntrack flush beside a pool split
		"  - {name: fwd, at: 3s, for: 5s, kind: sysctl, set: {net.ipv4.ip_forward: 0}}\n" +
		"  - {name: fin, at: 3s, for: 5s, kind: sysctl, set: {net.ipv4.tcp_fin_timeout: 30}}\n" +
		"  - {name: fwd-api, at: 3s, for: 5s, kind: sysctl, host: api, set: {net.ipv4.ip_forward: 0}}\n" +
		"  - {name: fwd-again, at: 8s, for: 5s, kind: sysctl, set: {net.ipv4.ip_forward: 0}}\n" +
		"  - {name: kill-api, at: 9s, for: 1s, kind: kill, host: api}\n"
	s, err := scenario.Parse("ok.yaml", []byte(ok), scenario.Options{Faults: chaos.Catalog{}})
	require.NoError(t, err)
	require.Len(t, s.Faults, 7)
	for _, f := range s.Faults {
		_, built := f.Built.(chaos.Fault)
		assert.True(t, built, "%s is built once, for the runner", f.Name)
	}
	assert.True(t, strings.HasPrefix(s.Faults[0].Built.(chaos.Fault).Describe(), "change SNAT on nat"))
}

// Sysctl values of the wrong shape, keys this kernel lacks and static
// port slices that cannot fit are refused before any namespace exists.
func TestRefuseTestbedValuesThatCannotWork(t *testing.T) {
	nat := func(extra string) string {
		src := strings.TrimSuffix(refuseBase, "faults:\n")
		return strings.Replace(src, "nat: {ips: 1, ports: 1024-1279}", "nat: {ips: 1, ports: 1024-1279, "+extra+"}", 1)
	}
	cases := []refusal{
		{"a switch set to banana", nat("sysctls: {net.ipv4.ip_forward: banana}"),
			map[string][]string{"3:45": {`testbed.nat.sysctls: sysctl net.ipv4.ip_forward = "banana": want 0 or 1 (a switch)`}}},
		{"a timeout that is not a number", nat("sysctls: {net.netfilter.nf_conntrack_tcp_timeout_time_wait: 2m}"),
			map[string][]string{"3:45": {`want a whole number of seconds`}}},
		{"a port range of one port", nat("sysctls: {net.ipv4.ip_local_port_range: 40000}"),
			map[string][]string{"3:45": {`want two ports separated by a space (first last), each 1-65535, first <= last`}}},
		{"static slices that cannot fit", nat("allocation: static, ports_per_host: 64"),
			map[string][]string{"3:71": {`testbed.nat.ports_per_host: static slices of 64 ports do not fit pool "shared": it serves 11 source addresses`,
				"hold 4 slices: want ports_per_host at most 23, a wider ports range or more ips"}}},
		{"a fault's sysctl of the wrong shape", refuseBase + "  - {at: 1s, kind: sysctl, set: {net.ipv4.ip_forward: banana, net.core.somaxconn: lots}}\n",
			map[string][]string{
				"11:34": {`set[net.ipv4.ip_forward]: sysctl net.ipv4.ip_forward = "banana": want 0 or 1 (a switch)`},
				"11:63": {`set[net.core.somaxconn]: sysctl net.core.somaxconn = "lots": want a whole number (a count)`},
			}},
		{"a fault's sysctl this kernel lacks", refuseBase + "  - {at: 1s, kind: sysctl, set: {net.ipv4.ip_forwarding: 0}}\n",
			map[string][]string{"11:34": {`sysctl "net.ipv4.ip_forwarding": no such key on this kernel (see /proc/sys/net for valid keys)`}}},
	}
	checkRefusals(t, cases, scenario.Options{Faults: chaos.Catalog{}})

	// A sysctls file is checked line by line, reported at the key that
	// names it with the file's line.
	files := fstest.MapFS{"tight.conf": {Data: []byte("# tight\nnet.ipv4.ip_forward = 1\nnet.core.somaxconn = 4096 # not a comment\n-net.ipv4.tcp_fin_timeout = soon\n")}}
	checkRefusals(t, []refusal{{"a sysctls file with a bad value", nat("sysctls_file: tight.conf"),
		map[string][]string{"3:49": {`testbed.nat.sysctls_file (tight.conf:3): sysctl net.core.somaxconn = "4096 # not a comment": want a whole number (a count)`}}}},
		scenario.Options{Faults: chaos.Catalog{}, FS: files})

	// A YAML boolean is a switch's 1 or 0, in the testbed as in a fault.
	s, err := scenario.Parse("ok.yaml", []byte(nat("sysctls: {net.netfilter.nf_conntrack_tcp_loose: false}")), scenario.Options{Faults: chaos.Catalog{}})
	require.NoError(t, err)
	assert.Equal(t, "0", s.Testbed.NATs[0].Sysctls[0].Value)
}

// Magnitudes are bounded by what the machine can hold, and the message
// names the bound: memory (MemAvailable), the open-file limit of an agent
// process (RLIMIT_NOFILE), the CPUs. The machine is fixed here.
func TestRefuseLoadsBeyondTheMachine(t *testing.T) {
	const gib = 1 << 30
	phase := func(load string) string {
		return strings.Replace(strings.TrimSuffix(refuseBase, "faults:\n"), "load: {rate: 10/s}", "load: "+load, 1)
	}
	big := scenario.Machine{MemAvailable: 24 * gib, OpenFiles: 20000, CPUs: 2}
	cases := []struct {
		name    string
		machine scenario.Machine
		src     string
		want    map[string][]string
	}{
		{"a hold beyond memory and one backend's files", big, phase("{hold: 1000000}"), map[string][]string{"9:38": {
			`load.hold: phase "p1" would hold 1,000,000 connections to backend api at once (this load: 1,000,000 on 1 client host): that needs 67 server processes of at most 15,000 connections each, more than the 64 a backend runs: want at most 960,000 connections to one backend, or spread them over more backends`,
			`load.hold: phase "p1" would hold 1,000,000 connections at once (this load: 1,000,000 on 1 client host) in 67 client agent processes, about 63.1 GiB; this machine has 24.0 GiB available (MemAvailable), room for about 358,912 connections (16,384 per GiB at 64 KiB each`,
		}}},
		{"a rate beyond the CPUs", big, phase("{rate: 1000000000000/s}"), map[string][]string{"9:38": {
			`load.rate: phase "p1" asks for 1,000,000,000,000 attempts/s (this load: 1,000,000,000,000/s on 1 client host), more than this machine's 2 CPUs can generate: want at most 1,000,000/s in a phase (500,000 per CPU`,
		}}},
		{"a spike beyond the CPUs, over every client host", big, strings.Replace(phase("{spike: {rate: 1/s, to: 600000/s, at: 1s, for: 1s}}"), "hosts: 1", "hosts: 2", 1), map[string][]string{"9:38": {
			`load.spike: phase "p1" asks for 1,200,000 attempts/s (this load: 600,000/s per client host x 2 hosts)`,
		}}},
		{"concurrency beyond memory on a small machine", scenario.Machine{MemAvailable: gib, OpenFiles: 1 << 20, CPUs: 2}, phase("{concurrency: 20000}"), map[string][]string{"9:38": {
			`load.concurrency: phase "p1" would hold 20,000 connections at once (this load: 20,000 on 1 client host) in 2 client agent processes, about 1.3 GiB; this machine has 1.0 GiB available (MemAvailable), room for about 15,360 connections`,
		}}},
		{"a hold beyond a low file limit", scenario.Machine{MemAvailable: 24 * gib, OpenFiles: 4096, CPUs: 2}, phase("{hold: 5000}"), map[string][]string{"9:38": {
			`load.hold: phase "p1" would put 5,000 connections in one agent process on client host client (this load: 5,000; the runner splits a load over processes above 15,000 connections, and the loads of a phase on a host share them), but a process may open only 4,096 files here (RLIMIT_NOFILE hard limit): want at most 3,596 per agent process, or raise the hard limit (ulimit -Hn)`,
		}}},
		{"two loads that fill one backend and one agent together", big, phase("[{hold: 12000}, {strategy: http1, hold: 12000}]"), map[string][]string{"9:71": {
			`load.hold: phase "p1" would put 24,000 connections in one agent process on client host client (this load: 12,000;`,
		}}},
		{"loads on different client hosts do not share agents", big,
			strings.Replace(phase("[{client: client, hold: 12000}, {client: client2, target: reg, hold: 12000}]"), "hosts: 1", "hosts: 2", 1),
			nil},
		// A backend runs as many server processes as its connections need.
		{"a pool as large as its max_in_flight", big, phase("{pool: keepalive, pool_size: 30000, max_in_flight: 30000, rate: 10/s}"), nil},
	}
	for _, tc := range cases {
		opts := scenario.Options{Faults: chaos.Catalog{}, Machine: &tc.machine}
		if tc.want == nil {
			_, err := scenario.Parse("ok.yaml", []byte(tc.src), opts)
			assert.NoError(t, err, tc.name)
			continue
		}
		checkRefusals(t, []refusal{{tc.name, tc.src, tc.want}}, opts)
	}

	// Within the bounds: a hold split over agents, a fast pooled rate, a
	// pool capped by max_in_flight, an unpooled open schedule of any size.
	for _, load := range []string{"{hold: 19000}", "{pool: keepalive, pool_size: 64, rate: 500000/s}", "{pool: keepalive, pool_size: 100000, rate: 10/s}", "{max_in_flight: 100000, rate: 1000/s}"} {
		_, err := scenario.Parse("ok.yaml", []byte(phase(load)), scenario.Options{Faults: chaos.Catalog{}, Machine: &big})
		assert.NoError(t, err, load)
	}
}

// The machine's facts are read from /proc/meminfo and the rlimit.
func TestReadMachine(t *testing.T) {
	m := scenario.ReadMachine()
	assert.Positive(t, m.CPUs)
	assert.Positive(t, m.MemAvailable, "MemAvailable from /proc/meminfo")
	assert.Positive(t, m.OpenFiles, "RLIMIT_NOFILE hard limit")
}

// Addresses are bounded per host and per run, and the message names the bound.
func TestRefuseAddressesBeyondTheRun(t *testing.T) {
	src := strings.TrimSuffix(refuseBase, "faults:\n")
	checkRefusals(t, []refusal{
		{"more addresses than a host carries", strings.Replace(src, "addresses: 10", "addresses: 5000", 1),
			map[string][]string{"4:34": {"testbed.clients.addresses: 5000 source addresses: a client host carries between 1 and 4000"}}},
		{"more addresses than a run has", strings.Replace(src, "hosts: 1, addresses: 10", "hosts: 3, addresses: 4000", 1),
			map[string][]string{"4:3": {"testbed.clients: client addresses do not fit: the origin blocks need 16384 addresses", "more than the 8192 a run has (a /19): give fewer client hosts or addresses"}}},
	}, scenario.Options{Faults: chaos.Catalog{}})
}

// --set overrides are applied to the file before it is read, so the
// fault built once is built with them, and refused with them.
func TestSetOverridesReachTheBuiltFault(t *testing.T) {
	src := refuseBase + "  - {name: shrink, at: 1s, for: 5s, kind: snat, ports: 1024-1087}\n"
	opts := scenario.Options{Faults: chaos.Catalog{}, Sets: []string{"faults[0].ports=1024-1151"}}
	s, err := scenario.Parse("r.yaml", []byte(src), opts)
	require.NoError(t, err)
	assert.Equal(t, "change SNAT on nat: ports 1024-1151", s.Faults[0].Built.(chaos.Fault).Describe())

	opts.Sets = []string{"faults[0].ips=3"}
	checkRefusals(t, []refusal{{"an override the NAT cannot take", src,
		map[string][]string{"11:5": {`fault "shrink" (snat): ips: 3 is more than nat has (1 NAT IP on wan0): want 1`}}}}, opts)
}
