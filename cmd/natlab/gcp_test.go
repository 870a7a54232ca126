package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/reports"
)

// Two VMs behind a Cloud NAT with 64 ports each hold 80 connections each:
// the run's assertions on Cloud NAT's own metrics hold, and the report
// names the profile. Each of the 32 failed connects sends its SYN at 0 s
// and retransmits it at 1 s and 2 s (tcp_syn_linear_timeouts) within its
// 2.5 s: 96 OUT_OF_RESOURCES drops on a quiet machine. A retransmit timer
// that fires late under load may miss the 2.5 s, so the bound is 2 or 3
// SYNs per failed connect, never fewer: 64..96.
const cloudNATScenario = `name: cloud-nat-out-of-resources
testbed:
  nat: {profile: gcp-cloud-nat, nat_ips: 1, min_ports_per_vm: 64, tcp_time_wait_timeout_sec: 30}
  clients: {hosts: 1, addresses: 2}
  backends: [{name: api, protocol: tcp-echo, port: 8080}]
phases:
  - {name: hold, duration: 4s, load: {strategy: tcp, hold: 160, connect_timeout: 2500ms}}
assert:
  - {phase: hold, expect: ok == 128}
  - {phase: hold, expect: outcomes.connect_timeout == 32}
  - {phase: hold, expect: nat.dropped_sent_packets_count.OUT_OF_RESOURCES >= 64}
  - {phase: hold, expect: nat.dropped_sent_packets_count.OUT_OF_RESOURCES <= 96}
  - {phase: hold, expect: nat.allocated_ports == 64}
  - {phase: hold, expect: nat.port_usage == 64}
  - {expect: nat.nat_allocation_failed == false}
`

func TestRunCloudNATScenario(t *testing.T) {
	requireRoot(t)
	out := t.TempDir()
	code, stdout, stderr := run(t, "run", writeScenario(t, cloudNATScenario), "--out", out)
	require.Equal(t, ExitPass, code, stdout+stderr)
	assert.Contains(t, stdout, "PASS: all 7 assertions held")
	rep, err := reports.Read(filepath.Join(out, "report.json"))
	require.NoError(t, err)
	require.Len(t, rep.Testbed.NATs, 1)
	assert.Equal(t, "gcp-cloud-nat", rep.Testbed.NATs[0].Mode)
	for _, a := range rep.Assertions {
		assert.True(t, a.Passed, "%s: observed %s", a.Expected, a.Observed)
	}

	// A bad setting is refused before anything is built, at its line.
	bad := writeScenario(t, `name: bad
testbed:
  nat: {profile: gcp-cloud-nat, enable_dynamic_port_allocation: true, min_ports_per_vm: 48}
  clients: {addresses: 1}
  backends: [{name: api, protocol: tcp-echo, port: 8080}]
phases:
  - {name: p, duration: 1s, load: {rate: 1/s}}
`)
	code, _, stderr = run(t, "run", bad)
	assert.Equal(t, ExitInput, code)
	assert.Contains(t, stderr, bad+":3:")
	assert.Contains(t, stderr, "min_ports_per_vm must be a power of two of at least 32")
}

// Endpoint-independent mapping through `natlab run`, on both testbeds:
// every datagram leaves the VM from port 40000 (local_ports is a range of
// one; one worker, so no two sockets want it at once), first to stun1,
// then to stun2. Both answer every one; the NAT
// tracked exactly the two flows (one 5-tuple each), each on one NAT port
// towards its backend, and dropped nothing as a conflict. The second
// phase is the longer so that a NAT reading comes after its flow began (a
// phase that starts late still ends on schedule, so the counts of ok are
// not fixed; new_connections_count is a rise between readings, and the
// first reading may come after the first datagram). That both backends saw the
// same NAT ip:port is checked on their own peers by
// testbedtest.CheckEIMOneMapping (testbed/netns, docker).
const cloudNATEIMScenario = `name: cloud-nat-eim
testbed:
  nat: {profile: gcp-cloud-nat, nat_ips: 1, min_ports_per_vm: 64, enable_endpoint_independent_mapping: true}
  clients: {hosts: 1, addresses: 1}
  backends: [{name: stun1, protocol: udp-echo, port: 3478}, {name: stun2, protocol: udp-echo, port: 3478}]
phases:
  - {name: one, duration: 1s, load: {target: stun1, strategy: udp, local_ports: 40000-40000, concurrency: 1}}
  - {name: two, duration: 2s, load: {target: stun2, strategy: udp, local_ports: 40000-40000, concurrency: 1}}
assert:
  - {phase: one, expect: ok > 0}
  - {phase: one, expect: error_rate == 0}
  - {phase: two, expect: ok > 0}
  - {phase: two, expect: error_rate == 0}
  - {expect: nat.peak_conntrack == 2}
  - {expect: nat.port_usage == 1}
  - {expect: nat.dropped_sent_packets_count.ENDPOINT_INDEPENDENCE_CONFLICT == 0}
`

func TestRunCloudNATEIMScenario(t *testing.T) {
	requireRoot(t)
	for _, testbed := range []string{"netns", "docker"} {
		t.Run(testbed, func(t *testing.T) {
			if testbed == "docker" {
				requireDocker(t)
			}
			out := t.TempDir()
			code, stdout, stderr := run(t, "run", writeScenario(t, cloudNATEIMScenario), "--testbed", testbed, "--out", out)
			if code != ExitPass {
				logFailed(t, out)
			}
			require.Equal(t, ExitPass, code, stdout+stderr)
			assert.Contains(t, stdout, "PASS: all 7 assertions held")
		})
	}

	// EIM with dynamic port allocation is refused at its line.
	bad := writeScenario(t, `name: bad
testbed:
  nat: {profile: gcp-cloud-nat, enable_dynamic_port_allocation: true,
        enable_endpoint_independent_mapping: true}
  clients: {addresses: 1}
  backends: [{name: api, protocol: tcp-echo, port: 8080}]
phases:
  - {name: p, duration: 1s, load: {rate: 1/s}}
`)
	code, _, stderr := run(t, "run", bad)
	assert.Equal(t, ExitInput, code)
	assert.Contains(t, stderr, bad+":4:")
	assert.Contains(t, stderr, "Cloud NAT refuses the two together")
}
