package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/reports"
)

// A NAT gateway with its cap scaled down to 100 connections per NAT IP
// and destination: of 150 held to one backend exactly 100 connect and 50
// time out, each counted once as ErrorPortAllocation; 100 to a second
// backend (another destination) all connect. Every SYN that got a port
// was answered, so attempts are 250 and established 200. The gateway's
// counts are judged over the whole run: the sampler's first reading,
// taken while the first connects are made, lies before the phase starts
// (and may already hold every refused connection).
const awsCapScenario = `name: aws-nat-gateway-cap
testbed:
  nat: {profile: aws-nat-gateway, nat_ips: 1, max_connections_per_destination: 100}
  clients: {hosts: 1, addresses: 2}
  backends:
    - {name: api, protocol: tcp-echo, port: 8080}
    - {name: search, protocol: tcp-echo, port: 8080}
phases:
  - name: hold
    duration: 4s
    load:
      - {target: api, strategy: tcp, hold: 150, connect_timeout: 2500ms}
      - {target: search, strategy: tcp, hold: 100, connect_timeout: 2500ms}
assert:
  - {phase: hold, expect: ok == 200}
  - {phase: hold, expect: outcomes.connect_timeout == 50}
  - {expect: nat.ErrorPortAllocation == 50}
  - {expect: nat.ConnectionAttemptCount == 250}
  - {expect: nat.ConnectionEstablishedCount == 200}
  - {phase: hold, expect: nat.ActiveConnectionCount == 200}
  - {expect: nat.IdleTimeoutCount == 0}
`

// With 64 ports the ports run out before the cap: 64 of 80 connect, 16
// are ErrorPortAllocation (over the whole run, as above).
const awsPortsScenario = `name: aws-nat-gateway-ports
testbed:
  nat: {profile: aws-nat-gateway, nat_ips: 1, ports: 1024-1087}
  clients: {hosts: 1, addresses: 2}
  backends: [{name: api, protocol: tcp-echo, port: 8080}]
phases:
  - {name: hold, duration: 4s, load: {strategy: tcp, hold: 80, connect_timeout: 2500ms}}
assert:
  - {phase: hold, expect: ok == 64}
  - {phase: hold, expect: outcomes.connect_timeout == 16}
  - {expect: nat.ErrorPortAllocation == 16}
  - {phase: hold, expect: nat.peak_port_utilization == 1}
`

func TestRunAWSNATGatewayScenario(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct{ name, scenario string }{{"cap", awsCapScenario}, {"ports", awsPortsScenario}} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			code, stdout, stderr := run(t, "run", writeScenario(t, tc.scenario), "--out", out)
			if code != ExitPass {
				logFailed(t, out)
			}
			require.Equal(t, ExitPass, code, stdout+stderr)
			assert.Contains(t, stdout, "PASS: all ")
			rep, err := reports.Read(filepath.Join(out, "report.json"))
			require.NoError(t, err)
			require.Len(t, rep.Testbed.NATs, 1)
			assert.Equal(t, "aws-nat-gateway", rep.Testbed.NATs[0].Mode)
		})
	}

	// More than eight NAT IPs is refused before anything is built, at
	// its line.
	bad := writeScenario(t, `name: bad
testbed:
  nat: {profile: aws-nat-gateway, nat_ips: 9}
  clients: {addresses: 1}
  backends: [{name: api, protocol: tcp-echo, port: 8080}]
phases:
  - {name: p, duration: 1s, load: {rate: 1/s}}
`)
	code, _, stderr := run(t, "run", bad)
	assert.Equal(t, ExitInput, code)
	assert.Contains(t, stderr, bad+":3:")
	assert.Contains(t, stderr, "9 NAT IPs: a NAT gateway has at most 8 (one primary and seven secondary IPv4 addresses)")
}

// The NAT gateway's idle timeout holds on the docker backend too: the
// agent in a FROM scratch container resets the 50 idle connections on
// both sides and counts them, and nothing of the run remains.
func TestRunAWSNATGatewayOnDocker(t *testing.T) {
	requireDocker(t)
	out := t.TempDir()
	code, stdout, stderr := run(t, "run", "aws-nat-gateway-idle-timeout", "--testbed", "docker", "--out", out)
	if code != ExitPass {
		logFailed(t, out)
	}
	require.Equal(t, ExitPass, code, stdout+stderr)
	rep, err := reports.Read(filepath.Join(out, "report.json"))
	require.NoError(t, err)
	assert.Equal(t, "docker", rep.Testbed.Backend)
	require.Len(t, rep.NAT, 1)
	require.NotNil(t, rep.NAT[0].AWS)
	assert.Equal(t, uint64(50), rep.NAT[0].AWS.IdleTimeoutCount)
	left, err := exec.Command("docker", "ps", "-aq", "--filter", "label=natlab.run="+rep.Testbed.RunID).Output()
	require.NoError(t, err)
	assert.Empty(t, strings.TrimSpace(string(left)), "no container of the run may remain")
}
