package scenario

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// validBase is a small valid scenario; each invalid case changes one thing.
const validBase = `name: t
testbed:
  nat: {ips: 1, ports: 1024-1279}
  clients: {hosts: 1, addresses: 10}
  backends: [{name: api, protocol: http1, port: 8080}]
phases:
  - {name: p1, duration: 10s, load: {rate: 10/s}}
`

// edit returns validBase with old replaced by new (old must occur).
func edit(old, new string) string {
	if !strings.Contains(validBase, old) {
		panic("edit: " + old + " is not in validBase")
	}
	return strings.Replace(validBase, old, new, 1)
}

// invalidCases are broken scenarios and every message each must produce.
var invalidCases = []struct {
	name string
	src  string
	want []string
}{
	{"bad bool", edit("{rate: 10/s}", "{linger0: maybe, rate: 10/s}"),
		[]string{`s.yaml:7:47: linger0 "maybe": want true or false`}},
	{"not a whole number", edit("{rate: 10/s}", "{pool_size: 2.5, rate: 10/s}"),
		[]string{`s.yaml:7:49: pool_size "2.5": want a whole number`}},
	{"an unknown pool scope", edit("{rate: 10/s}", "{pool: keepalive, pool_per: server, rate: 10/s}"),
		[]string{`s.yaml:7:55: load.pool_per: "server": want "load" (one pool for the load) or "source" (one pool per source address)`}},
	{"a mapping where a value belongs", edit("{rate: 10/s}", "{path: {a: 1}, rate: 10/s}"),
		[]string{`s.yaml:7:44: path: want a string, got a mapping`}},
	{"a value where a mapping belongs", edit("nat: {ips: 1, ports: 1024-1279}", "nat: 5"),
		[]string{`s.yaml:3:8: testbed.nat: want a mapping of keys (name, ips, ports, mode, hold, port_selection, allocation, ports_per_host, pools, sysctls, sysctls_file, conn_limit, profile, nat_ips, min_ports_per_vm, max_ports_per_vm, enable_dynamic_port_allocation, enable_endpoint_independent_mapping, tcp_time_wait_timeout_sec, tcp_established_idle_timeout_sec, tcp_transitory_idle_timeout_sec, udp_idle_timeout_sec, max_connections_per_destination, idle_timeout_sec), got "5"`}},
	{"broken list items are reported once", strings.Replace(validBase, "backends: [{name: api, protocol: http1, port: 8080}]",
		"backends: [{name: api, protocol: http1, port: 8080, extra: [7]}, web]", 1),
		[]string{
			`s.yaml:5:63: testbed.backends[0].extra[0]: want a mapping of keys (protocol, port), got "7"`,
			`s.yaml:5:68: testbed.backends[1]: want a mapping of keys (name, protocol, port, extra, backlog, dependency, verify_timeout), got "web"`,
		}},
	{"redundancy on another strategy", edit("{rate: 10/s}", "{redundancy: 5, rate: 10/s}"),
		[]string{`s.yaml:7:38: load.redundancy: 5: redundancy applies to strategy "holepunch" only, not "http1"`}},
	{"a dependency on a backend without verification", edit("port: 8080}]", "port: 8080, dependency: {concurrency: 8, latency: 50ms}}]"),
		[]string{`s.yaml:5:55: testbed.backends[0].dependency: backend api serves no registrar or rendezvous listener: only they verify through a dependency`}},
	{"a dependency with a bad key", strings.Replace(validBase, "{name: api, protocol: http1, port: 8080}",
		"{name: r, protocol: rendezvous, port: 3478, dependency: {slots: 8}}", 1) + "",
		[]string{`s.yaml:5:71: unknown key "slots" in testbed.backends[0].dependency: valid keys are concurrency, latency`}},
	{"holepunch against an http backend", edit("{rate: 10/s}", "{strategy: holepunch, rate: 10/s}"),
		[]string{`s.yaml:7:38: strategy holepunch cannot talk to api:8080, which serves http1: use strategy http1 or another target`}},
	{"a fault that is not a mapping", validBase + "faults: [5]\n",
		[]string{`s.yaml:8:10: faults[0]: want a mapping, got "5"`}},
	{"null phases", edit("phases:\n  - {name: p1, duration: 10s, load: {rate: 10/s}}\n", "phases:\n"),
		[]string{`s.yaml:6:8: phases: want a list, got null`}},
	{"yaml syntax error", "name: t\ntestbed:\n  nat: {ips: 1\n  clients: x\n",
		[]string{`s.yaml:4:10: yaml syntax: did not find expected ',' or '}' (while parsing a flow mapping that starts at 3:8)`}},
	{"yaml syntax error mid-line", "name: t\ntestbed: {nat: {ips: 1}}\nphases: [{name: a, duration: 1s}\nfaults: []\n",
		[]string{`s.yaml:4:1: yaml syntax: did not find expected ',' or ']' (while parsing a flow sequence that starts at 3:9)`}},
	{"unterminated quote", "name: \"t\ntestbed: 1\n",
		[]string{`s.yaml:3:1: yaml syntax: found unexpected end of stream (while scanning a quoted scalar that starts at 1:7)`}},
	{"mapping value inside a value", "name: t\ntick: a: b\n",
		[]string{`s.yaml:2:8: yaml syntax: mapping values are not allowed in this context`}},
	{"a second document", validBase + "---\nname: other\n",
		[]string{`s.yaml:8:1: a second YAML document starts here: a scenario file holds one document; remove the '---' line and what follows, or put it in a file of its own`}},
	{"yaml tab indentation", "name: t\n\ttestbed: 1\n",
		[]string{`s.yaml:2:1: yaml syntax: found a tab character that violates indentation`}},
	{"empty file", "", []string{`s.yaml:1:1: the file is empty: a scenario is a mapping with keys name, description, incident, kind, testbed, tick, phases, faults, alarms, assert`}},
	{"not a mapping", "- a\n- b\n", []string{`s.yaml:1:1: the scenario: want a mapping of keys (name, description, incident, kind, testbed, tick, phases, faults, alarms, assert), got a list`}},
	{"unknown key at top level", validBase + "phasez: []\n",
		[]string{`s.yaml:8:1: unknown key "phasez" in the scenario: did you mean "phases"? valid keys are name, description, incident, kind, testbed, tick, phases, faults, alarms, assert`}},
	{"repeated key", validBase + "name: u\n",
		[]string{`s.yaml:8:1: key "name" appears twice in the scenario (first at line 1)`}},
	{"unknown key in load", edit("{rate: 10/s}", "{rat: 10/s}"),
		[]string{`s.yaml:7:38: unknown key "rat" in load: did you mean "rate"? valid keys are client, target, strategy, pool, pool_size, pool_per, idle_timeout, max_conn_age, max_requests_per_conn, path, payload, linger0, local_ports, source_pick, connect_timeout, request_timeout, max_in_flight, redundancy, rate, concurrency, ramp, spike, hold`}},
	{"bad duration", edit("duration: 10s", "duration: 10sec"),
		[]string{`s.yaml:7:26: duration "10sec": want a duration such as 10s, 1m30s or 250ms`}},
	{"duration without unit", edit("duration: 10s", "duration: 10"),
		[]string{`s.yaml:7:26: duration 10: a duration needs a unit, such as 10s or 10ms`}},
	{"negative duration", edit("duration: 10s", "duration: -5s"),
		[]string{`s.yaml:7:26: duration -5s: a duration must not be negative`}},
	{"bad rate", edit("rate: 10/s", "rate: fast"),
		[]string{`s.yaml:7:44: rate "fast": want a rate such as 100/s, 5/100ms or 60/m`}},
	{"two schedules in one load", edit("rate: 10/s", "rate: 10/s, hold: 5"),
		[]string{`s.yaml:7:50: load has two schedules (rate and hold): give exactly one of rate, concurrency, ramp, spike, hold`}},
	{"no schedule", edit("{rate: 10/s}", "{strategy: http1}"),
		[]string{`s.yaml:7:37: load has no schedule: give exactly one of rate, concurrency, ramp, spike, hold`}},
	{"spike outside its phase", edit("{rate: 10/s}", "{spike: {rate: 1/s, to: 5/s, at: 8s, for: 5s}}"),
		[]string{`s.yaml:7:38: load.spike: a spike at 8s for 5s ends at 13s, after the phase ends at 10s: start it earlier or make it shorter`}},
	// loadgen's own checks, placed at the load key they concern.
	{"bad local ports", edit("{rate: 10/s}", "{local_ports: 9-1, rate: 10/s}"),
		[]string{`s.yaml:7:38: load.local_ports: port range "9-1": the range is empty: first port 9 is above last port 1`}},
	{"payload too large", edit("{rate: 10/s}", "{rate: 10/s, payload: 2000000}"),
		[]string{`s.yaml:7:50: load.payload: 2000000: want at most 1 MiB`}},
	{"relative path", edit("{rate: 10/s}", "{path: status, rate: 10/s}"),
		[]string{`s.yaml:7:38: load.path: "status": want an absolute path starting with /`}},
	{"unknown source pick", edit("{rate: 10/s}", "{source_pick: lottery, rate: 10/s}"),
		[]string{`s.yaml:7:38: load.source_pick: "lottery": want "round-robin" or "random"`}},
	{"spike rate checked with the phase", edit("{rate: 10/s}", "{spike: {rate: 1/s, to: 5/s, at: 0s, for: 11s}}"),
		[]string{`s.yaml:7:38: load.spike: a spike at 0s for 11s ends at 11s, after the phase ends at 10s: start it earlier or make it shorter`}},
	{"unknown strategy", edit("{rate: 10/s}", "{strategy: htttp1, rate: 10/s}"),
		[]string{`s.yaml:7:48: unknown strategy "htttp1": did you mean "http1"? valid strategies are tcp, http1, h2c, udp, holepunch`}},
	{"strategy cannot speak the backend's protocol", edit("{rate: 10/s}", "{strategy: udp, rate: 10/s}"),
		[]string{`s.yaml:7:38: strategy udp cannot talk to api:8080, which serves http1: use strategy http1 or another target`}},
	{"h2c without a pool", strings.Replace(edit("{rate: 10/s}", "{strategy: h2c, pool: none, rate: 10/s}"), "protocol: http1", "protocol: h2c", 1),
		[]string{`s.yaml:7:53: load.pool: "none": h2c always multiplexes over a pool; use "keepalive"`}},
	{"target unknown backend", edit("{rate: 10/s}", "{target: apii, rate: 10/s}"),
		[]string{`s.yaml:7:46: load.target "apii" is not a backend: did you mean "api"? backends are api`}},
	{"target port not a listener", edit("{rate: 10/s}", `{target: "api:9090", rate: 10/s}`),
		[]string{`s.yaml:7:46: load.target api:9090: backend "api" does not listen on port 9090: its listeners are 8080 (http1)`}},
	{"client unknown host", edit("{rate: 10/s}", "{client: clinet, rate: 10/s}"),
		[]string{`s.yaml:7:46: load.client "clinet" is not a client host: did you mean "client"? client hosts are client`}},
	{"duplicate phase name", validBase + "  - {name: p1, duration: 5s}\n",
		[]string{`s.yaml:8:12: phase name "p1" is already used by the phase at line 7: phase names must be unique`}},
	{"unknown fault kind", validBase + "faults:\n  - {at: 1s, kind: sysctll, set: {net.ipv4.ip_forward: 0}}\n",
		[]string{`s.yaml:9:20: unknown fault kind "sysctll": did you mean "sysctl"? valid kinds are conntrack-flush, kill, link-down, snat, sysctl`}},
	{"fault on unknown host", validBase + "faults:\n  - {at: 1s, kind: sysctl, host: natt, set: {net.ipv4.ip_forward: 0}}\n",
		[]string{`s.yaml:9:34: fault "faults[0]": host "natt" is not in the testbed: did you mean "nat"? hosts are nat, client, api`}},
	{"fault at after the run ends", validBase + "faults:\n  - {at: 12s, kind: sysctl, set: {net.ipv4.ip_forward: 0}}\n",
		[]string{`s.yaml:9:10: fault "faults[0]" at 12s is not before the end of the run at 10s (the sum of the phase durations)`}},
	{"fault lasting past the end", validBase + "faults:\n  - {at: 8s, for: 5s, kind: conntrack-flush}\n",
		[]string{`s.yaml:9:19: fault "faults[0]" lasts until 13s, after the run ends at 10s: shorten for, or leave it out to last until the end`}},
	{"fault parameters checked by the catalog", validBase + "faults:\n  - {name: off, at: 1s, kind: sysctl, sett: {net.ipv4.ip_forward: 0}}\n",
		[]string{
			`s.yaml:9:31: fault "off" (sysctl): give set: a mapping of sysctl keys to values`,
			`s.yaml:9:39: fault "off" (sysctl): unknown parameter "sett": did you mean "set"? valid parameters are set`,
		}},
	{"recovery after unknown fault", validBase + "faults:\n  - {name: off, at: 1s, for: 2s, kind: sysctl, set: {net.ipv4.ip_forward: 0}}\nassert:\n  - recovery: {after: of, within: 5s, expect: error_rate < 1%}\n",
		[]string{`s.yaml:11:23: recovery after unknown fault "of": did you mean "off"? faults are off`}},
	{"recovery after a fault never reverted", validBase + "faults:\n  - {name: off, at: 1s, kind: conntrack-flush}\nassert:\n  - recovery: {after: off, within: 5s, expect: error_rate < 1%}\n",
		[]string{`s.yaml:11:23: recovery after fault "off", which is never reverted: give the fault a for`}},
	{"recovery on a metric not measured per tick", validBase + "faults:\n  - {name: off, at: 1s, for: 2s, kind: conntrack-flush}\nassert:\n  - recovery: {after: off, within: 5s, expect: connect.p99 < 1s}\n",
		[]string{`s.yaml:11:48: a recovery is judged tick by tick: metric "connect.p99" is not measured per tick, use one of attempts, ok, errors, error_rate, throughput`}},
	{"assertion on unknown metric", validBase + "assert:\n  - expect: erorr_rate < 1%\n",
		[]string{`s.yaml:9:13: unknown metric "erorr_rate": did you mean "error_rate"? valid metrics are ` + metricsHelp}},
	{"bad operator", validBase + "assert:\n  - expect: error_rate =< 1%\n",
		[]string{`s.yaml:9:24: bad operator "=<" in "error_rate =< 1%": valid operators are < <= > >= == !=`}},
	{"bool compared with an order", validBase + "alarms: [{name: hot, metric: error_rate, above: 5%}]\nassert:\n  - expect: alarm.hot.fired >= 1\n",
		[]string{`s.yaml:10:32: value "1" for alarm.hot.fired: want true or false`}},
	{"assertion references", validBase + "assert:\n  - expect: alarm.x.fired == true\n  - expect: connect.p99 < fast\n  - expect: backend.apx.accepted > 0\n  - expect: outcomes.conect_timeout == 0\n",
		[]string{
			`s.yaml:9:13: metric "alarm.x.fired" names unknown alarm "x": alarms are none`,
			`s.yaml:10:27: value "fast" for connect.p99: want a duration such as 250ms (a bare number means milliseconds)`,
			`s.yaml:11:13: metric "backend.apx.accepted" names unknown backend "apx": did you mean "api"? backends are api`,
			`s.yaml:12:13: unknown outcome class "conect_timeout" in "outcomes.conect_timeout": did you mean "connect_timeout"? valid classes are ok, connect_timeout, read_timeout, refused, reset, addr_not_avail, broken_pipe, closed, unreachable, http_3xx, http_4xx, http_5xx, pool_timeout, dropped_by_client, cancelled, other`,
		}},
	{"assertion on unknown phase", validBase + "assert:\n  - phase: p2\n    expect: error_rate < 1%\n",
		[]string{`s.yaml:9:12: assert[0]: unknown phase "p2": did you mean "p1"? phases are p1`}},
	{"port range empty", edit("1024-1279", "2000-1000"),
		[]string{`s.yaml:3:24: testbed.nat.ports: port range "2000-1000": the range is empty: first port 2000 is above last port 1000`}},
	{"port range out of 1-65535", edit("1024-1279", "1024-70000"),
		[]string{`s.yaml:3:24: testbed.nat.ports: port range "1024-70000": ports must be within 1-65535`}},
	{"zero NAT IPs", edit("ips: 1,", "ips: 0,"),
		[]string{`s.yaml:3:14: testbed.nat.ips: 0 NAT IPs: a NAT box needs between 1 and 100 NAT IPs`}},
	{"unknown sysctl key", edit("ports: 1024-1279}", "ports: 1024-1279, sysctls: {net.ipv4.no_such_key: 1}}"),
		[]string{`s.yaml:3:45: testbed.nat.sysctls: sysctl "net.ipv4.no_such_key": no such key on this kernel (see /proc/sys/net for valid keys)`}},
	{"hold without managed mode", edit("ports: 1024-1279}", "ports: 1024-1279, hold: 30s}"),
		[]string{`s.yaml:3:41: testbed.nat.hold: a hold time needs mode "managed" (mode "linux" is the plain Linux NAT)`}},
	{"too many client hosts", edit("hosts: 1", "hosts: 100"),
		[]string{`s.yaml:4:20: testbed.clients.hosts 100: want a number from 1 to 64`}},
	{"overlapping pools", `name: t
testbed:
  nat:
    ips: 2
    pools:
      - {name: a, ips: 1, blocks: [web]}
      - {name: b, ips: 1, blocks: [web, db]}
  blocks: [{name: web}, {name: db}]
  clients: [{name: c1, block: web}, {name: c2, block: db}]
  backends: [{name: api, protocol: http1, port: 8080}]
phases:
  - {name: p1, duration: 10s, load: {rate: 10/s}}
`, []string{`s.yaml:7:35: testbed.nat.pools[1].blocks: overlapping pools: origin block "web" is already served by pool "a"`}},
	{"testbed errors in a nats list", `name: t
testbed:
  nats:
    - {name: nat, ips: 1}
    - {name: nat, ips: 1, mode: cloud}
  blocks: [{name: web, nat: gw}]
  clients: [{name: c1, block: web}]
  backends: [{name: api, protocol: http1, port: 8080, extra: [{protocol: h2c, port: 8080}]}]
phases:
  - {name: p1, duration: 10s, load: {rate: 10/s}}
`, []string{
		`s.yaml:5:14: testbed.nats[1].name: "nat" is already used by nats[0]: host names must be unique`,
		`s.yaml:5:33: testbed.nats[1].mode: unknown mode "cloud": valid modes are "linux" and "managed"`,
		`s.yaml:6:29: testbed.blocks[0].nat: unknown NAT "gw": known NATs are "nat"`,
		`s.yaml:8:85: testbed.backends[0].extra[0].port: port 8080 is already used on this backend`,
	}},
	{"duplicate alarm and unknown alarm metric", validBase + "alarms:\n  - {name: a, metric: nat.port_utilization, above: 80%}\n  - {name: a, metric: nat.port_utilisation, above: 80%}\n",
		[]string{
			`s.yaml:10:12: alarm name "a" is already used by the alarm at line 9: alarm names must be unique`,
			`s.yaml:10:23: unknown alarm metric "nat.port_utilisation": did you mean "nat.port_utilization"? valid are attempts, connect.p99, error_rate, errors, nat.ActiveConnectionCount, nat.ConnectionAttemptCount, nat.ConnectionEstablishedCount, nat.ErrorPortAllocation, nat.IdleTimeoutCount, nat.PacketsDropCount, nat.allocated_ports, nat.allocation_failures, nat.conntrack, nat.dropped_sent_packets_count, nat.dropped_sent_packets_count.ENDPOINT_INDEPENDENCE_CONFLICT, nat.dropped_sent_packets_count.OUT_OF_RESOURCES, nat.ip_forward, nat.nat_allocation_failed, nat.new_connections_count, nat.open_connections, nat.port_usage, nat.port_utilization, ok, open_conns, request.p99, throughput`,
		}},
	{"every problem at once", `name: t
tick: 10ms
testbed:
  nat: {ips: 0}
  clients: {hosts: 1}
  backends: [{name: api, protocol: http1, port: 8080}]
phases:
  - {name: p1, duration: 0s, load: {rate: 10/s, pool: some}}
assert:
  - expect: throughput > 10%
`, []string{
		`s.yaml:2:7: tick 10ms: want at least 100ms`,
		`s.yaml:4:14: testbed.nat.ips: 0 NAT IPs: a NAT box needs between 1 and 100 NAT IPs`,
		`s.yaml:8:26: duration 0: want a duration above zero`,
		`s.yaml:8:49: load.pool: "some": want "none" or "keepalive"`,
		`s.yaml:10:26: value "10%" for throughput: throughput is a rate per second, want a number such as 100`,
	}},
}

// errorLines requires err to be *Errors and gives its problems as lines.
func errorLines(t *testing.T, err error) []string {
	t.Helper()
	var list *Errors
	require.True(t, errors.As(err, &list), "want *Errors, got %T", err)
	var got []string
	for _, e := range list.List {
		got = append(got, e.Error())
	}
	return got
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range invalidCases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse("s.yaml", []byte(tc.src), Options{Faults: testCatalog{}})
			require.Error(t, err)
			assert.Nil(t, s)
			got := errorLines(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseFaultsNeedACatalog(t *testing.T) {
	_, err := Parse("s.yaml", []byte(validBase+"faults: [{at: 1s, kind: sysctl}]\n"), Options{})
	require.EqualError(t, err, `s.yaml:8:25: fault kind "sysctl" cannot be checked: no fault catalog was given to the parser`)
}

func TestParseAliasBomb(t *testing.T) {
	// 10 phases of 10 loads of 10... would expand to 10^6 loads.
	src := `x: &a [{rate: 1/s}, {rate: 1/s}, {rate: 1/s}, {rate: 1/s}, {rate: 1/s}, {rate: 1/s}, {rate: 1/s}, {rate: 1/s}, {rate: 1/s}, {rate: 1/s}]
y: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
z: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
w: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
v: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
`
	_, err := Parse("bomb.yaml", []byte(src), Options{})
	require.EqualError(t, err, "bomb.yaml:1:1: the file holds more than 100000 values once its aliases are expanded: write the scenario out without nested aliases")

	// Plain anchors and aliases are fine.
	ok := validBase + "  - {name: p2, duration: 5s, load: &l {rate: 5/s}}\n  - {name: p3, duration: 5s, load: *l}\n"
	s, err := Parse("alias.yaml", []byte(ok), Options{})
	require.NoError(t, err)
	assert.Equal(t, s.Phases[1].Loads[0].Schedule, s.Phases[2].Loads[0].Schedule)
}

func TestParseFaultErrorsAtTheirParam(t *testing.T) {
	src := validBase + "faults:\n  - {name: d, at: 1s, kind: drop,\n     percnt: 5}\n"
	_, err := Parse("s.yaml", []byte(src), Options{Faults: plainCatalog{}})
	got := errorLines(t, err)
	assert.Equal(t, []string{
		`s.yaml:9:29: fault "d" (drop): give percent: the share of packets to drop`,
		`s.yaml:10:6: fault "d" (drop): unknown parameter "percnt": did you mean "percent"? valid parameters are percent`,
	}, got)
}

// Files too large or too deep to be a scenario are refused with the limit
// they passed, not with a message about aliases they do not have.
func TestParseSizeAndDepthLimits(t *testing.T) {
	var many strings.Builder
	many.WriteString("name: t\nlist:\n")
	for range maxValues {
		many.WriteString("- 1\n")
	}
	_, err := Parse("many.yaml", []byte(many.String()), Options{})
	require.EqualError(t, err, "many.yaml:1:1: the file holds more than 100000 values: a scenario holds a few hundred")

	deep := "name: t\nx: " + strings.Repeat("[", maxDepth+5) + strings.Repeat("]", maxDepth+5) + "\n"
	_, err = Parse("deep.yaml", []byte(deep), Options{})
	require.EqualError(t, err, "deep.yaml:2:103: values nest more than 100 levels deep here: a scenario nests a few levels (testbed.nat.sysctls is the deepest key)")

	big := validBase + "description: " + strings.Repeat("x", maxFileSize) + "\n"
	_, err = Parse("big.yaml", []byte(big), Options{})
	require.EqualError(t, err, "big.yaml:1:1: the file is larger than 1024 KiB: a scenario file is at most 1024 KiB")
}

// Load reads at most a little more than the size limit: a device that
// never ends is refused at once instead of filling memory.
func TestLoadReadsABoundedAmount(t *testing.T) {
	done := make(chan error, 1)
	go func() {
		_, err := Load("/dev/zero", Options{})
		done <- err
	}()
	select {
	case err := <-done:
		require.EqualError(t, err, "/dev/zero:1:1: the file is larger than 1024 KiB: a scenario file is at most 1024 KiB")
	case <-time.After(30 * time.Second):
		t.Fatal("Load(/dev/zero) did not return: it reads without a bound")
	}
}
