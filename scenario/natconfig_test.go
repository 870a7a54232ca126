package scenario

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v4"

	"github.com/natlab/natlab/testbed"
)

const gateBase = `name: g
testbed:
  nat: {profile: gcp-cloud-nat, nat_ips: 2, min_ports_per_vm: 128, tcp_time_wait_timeout_sec: 30}
  clients: {hosts: 1, addresses: 2}
  backends: [{name: api, protocol: tcp-echo, port: 8080}]
phases:
  - {name: p, duration: 5s, load: {hold: 160}}
`

// candidate is a YAML NAT block as natconfig.Load gives it.
func candidate(t *testing.T, file, body string) *NATConfig {
	t.Helper()
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(body), &doc))
	return &NATConfig{File: file, Form: "yaml", Block: doc.Content[0], Ignored: []string{"log_config (nat.tf:9): logging is not modelled"}}
}

// A candidate replaces the scenario's profile settings: what it sets is
// its, what it leaves out takes the profile's default (as Terraform's
// provider would), except the profile and the NAT IP count, which stay the
// scenario's. Every setting that differs is named, before -> after, with
// the defaults filled in.
func TestNATConfigReplacesProfileSettings(t *testing.T) {
	cand := candidate(t, "nat.yaml", "min_ports_per_vm: 64\nenable_dynamic_port_allocation: true\nmax_ports_per_vm: 256\n")
	s, err := Parse("s.yaml", []byte(gateBase), Options{NATConfig: cand})
	require.NoError(t, err)
	n := s.Testbed.NATs[0]
	assert.Equal(t, testbed.ProfileGCPCloudNAT, n.Profile)
	assert.Equal(t, 2, n.IPs)
	assert.Equal(t, testbed.GCPCloudNAT{MinPortsPerVM: 64, MaxPortsPerVM: 256, EnableDynamicPortAllocation: true,
		TCPTimeWaitTimeoutSec: 120, TCPEstablishedIdleTimeoutSec: 1200, TCPTransitoryIdleTimeoutSec: 30, UDPIdleTimeoutSec: 30}, *n.GCP)
	require.NotNil(t, s.NATChange)
	assert.Equal(t, "nat.yaml", s.NATChange.File)
	assert.Equal(t, cand.Ignored, s.NATChange.Ignored)
	assert.Equal(t, []NATSettingChange{
		{NAT: "nat", Setting: "min_ports_per_vm", Before: "128", After: "64"},
		{NAT: "nat", Setting: "max_ports_per_vm", Before: "unset", After: "256"},
		{NAT: "nat", Setting: "enable_dynamic_port_allocation", Before: "false", After: "true"},
		{NAT: "nat", Setting: "tcp_time_wait_timeout_sec", Before: "30", After: "120"},
	}, s.NATChange.Changes)

	// The same settings as the scenario's: nothing differs.
	same := candidate(t, "same.yaml", "profile: gcp-cloud-nat\nnat_ips: 2\nmin_ports_per_vm: 128\ntcp_time_wait_timeout_sec: 30\n")
	s, err = Parse("s.yaml", []byte(gateBase), Options{NATConfig: same})
	require.NoError(t, err)
	assert.Empty(t, s.NATChange.Changes)

	// A scenario without testbed.nat has one NAT box: the candidate is its.
	bare := strings.Replace(gateBase, "  nat: {profile: gcp-cloud-nat, nat_ips: 2, min_ports_per_vm: 128, tcp_time_wait_timeout_sec: 30}\n", "", 1)
	s, err = Parse("s.yaml", []byte(bare), Options{NATConfig: candidate(t, "c.yaml", "profile: gcp-cloud-nat\nmin_ports_per_vm: 32\n")})
	require.NoError(t, err)
	assert.Equal(t, 32, s.Testbed.NATs[0].GCP.MinPortsPerVM)
	// A linux box has no Cloud NAT settings: they were unset before.
	require.NotEmpty(t, s.NATChange.Changes)
	assert.Equal(t, NATSettingChange{NAT: "nat", Setting: "profile", Before: "linux", After: "gcp-cloud-nat"}, s.NATChange.Changes[0])
	assert.Contains(t, s.NATChange.Changes, NATSettingChange{NAT: "nat", Setting: "min_ports_per_vm", Before: "unset", After: "32"})
}

// A bad candidate is told in its own file at the key, after the
// scenario's own problems: a key that is no profile setting, a value of
// the wrong shape, and a value testbed validation refuses in combination
// with the rest (min_ports_per_vm 48 with dynamic port allocation).
func TestNATConfigErrorsAtTheCandidate(t *testing.T) {
	cand := candidate(t, "nat.yaml", "enable_dynamic_port_allocation: true\nmin_ports_per_vm: 48\nports: 1024-2047\n")
	_, err := Parse("s.yaml", []byte(strings.Replace(gateBase, "hold: 160", "hold: -1", 1)), Options{NATConfig: cand})
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, 3, err.Error())
	assert.True(t, strings.HasPrefix(lines[0], "s.yaml:7:"), lines[0])
	assert.True(t, strings.HasPrefix(lines[1], "nat.yaml:2:19: testbed.nat.min_ports_per_vm: 48: with enable_dynamic_port_allocation, min_ports_per_vm must be a power of two of at least 32"), lines[1])
	assert.True(t, strings.HasPrefix(lines[2], `nat.yaml:3:1: unknown key "ports" in the NAT config:`), lines[2])

	_, err = Parse("s.yaml", []byte(gateBase), Options{NATConfig: candidate(t, "nat.yaml", "min_ports_per_vm: lots\n")})
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "nat.yaml:1:19: testbed.nat.min_ports_per_vm"), err.Error())

	// A profile the candidate switches to judges the scenario's kept
	// nat_ips, at the scenario's key.
	_, err = Parse("s.yaml", []byte(gateBase), Options{NATConfig: candidate(t, "nat.yaml", "profile: linux\n")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "s.yaml:3:")
	assert.Contains(t, err.Error(), "nat_ips is the name profiles gcp-cloud-nat and aws-nat-gateway give the NAT IP count")
}

// A --set of a profile key beside a candidate would be replaced by it:
// refused, saying where to set it; other --set paths stay.
func TestNATConfigRefusesProfileSets(t *testing.T) {
	cand := candidate(t, "nat.yaml", "min_ports_per_vm: 64\n")
	_, err := Parse("s.yaml", []byte(gateBase), Options{NATConfig: cand, Sets: []string{"testbed.nat.min_ports_per_vm=256", "phases[0].duration=3s"}})
	require.EqualError(t, err, "--set testbed.nat.min_ports_per_vm=256: --nat-config nat.yaml replaces the NAT's min_ports_per_vm: set it in the candidate instead")
	s, err := Parse("s.yaml", []byte(gateBase), Options{NATConfig: cand, Sets: []string{"testbed.clients.addresses=3"}})
	require.NoError(t, err)
	assert.Equal(t, 3, s.Testbed.Clients[0].Addresses)
}

// Every NAT box of a scenario takes the candidate, as with --nat-sysctls;
// the changes are told per box.
func TestNATConfigEveryNATBox(t *testing.T) {
	src := `name: two
testbed:
  nats:
    - {name: east, profile: gcp-cloud-nat, min_ports_per_vm: 128}
    - {name: west, profile: gcp-cloud-nat, min_ports_per_vm: 64}
  blocks: [{name: a, nat: east}, {name: b, nat: west}]
  clients: [{name: ca, block: a, addresses: 1}, {name: cb, block: b, addresses: 1}]
  backends: [{name: api, protocol: tcp-echo, port: 8080}]
phases:
  - {name: p, duration: 1s, load: {hold: 10}}
`
	s, err := Parse("s.yaml", []byte(src), Options{NATConfig: candidate(t, "nat.yaml", "min_ports_per_vm: 64\n")})
	require.NoError(t, err)
	for _, n := range s.Testbed.NATs {
		assert.Equal(t, 64, n.GCP.MinPortsPerVM, n.Name)
	}
	assert.Equal(t, []NATSettingChange{{NAT: "east", Setting: "min_ports_per_vm", Before: "128", After: "64"}}, s.NATChange.Changes)
}
