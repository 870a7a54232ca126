package scenario

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/testbed"
)

const gcpBase = `name: g
testbed:
  nat: {profile: gcp-cloud-nat, nat_ips: 1, min_ports_per_vm: 64, max_ports_per_vm: 128, enable_dynamic_port_allocation: true, tcp_time_wait_timeout_sec: 60}
  clients: {hosts: 1, addresses: 10}
  backends: [{name: api, protocol: tcp-echo, port: 8080}]
phases:
  - {name: p, duration: 5s, load: {hold: 800}}
assert:
  - expect: nat.dropped_sent_packets_count.OUT_OF_RESOURCES == 0
  - expect: nat.allocated_ports >= 128
  - expect: nat.nat_allocation_failed == false
`

// The gcp-cloud-nat keys are Terraform's names; unset ones take Cloud
// NAT's defaults, and its metrics can be asserted on.
func TestParseGCPCloudNAT(t *testing.T) {
	s, err := Parse("s.yaml", []byte(gcpBase), Options{})
	require.NoError(t, err)
	n := s.Testbed.NATs[0]
	assert.Equal(t, testbed.ProfileGCPCloudNAT, n.Profile)
	assert.Equal(t, 1, n.IPs)
	assert.Equal(t, testbed.GCPCloudNAT{MinPortsPerVM: 64, MaxPortsPerVM: 128, EnableDynamicPortAllocation: true,
		TCPTimeWaitTimeoutSec: 60, TCPEstablishedIdleTimeoutSec: 1200, TCPTransitoryIdleTimeoutSec: 30, UDPIdleTimeoutSec: 30}, *n.GCP)
	require.Len(t, s.Asserts, 3)

	v := Evaluate(s, &Observed{Run: Window{NAT: NATStats{GCP: &GCPStats{AllocatedPorts: 128, DroppedSent: map[string]uint64{"OUT_OF_RESOURCES": 0}}}}})
	for _, x := range v {
		assert.True(t, x.Passed, "%s: observed %s", x.Expected, x.Observed)
	}
	v = Evaluate(s, &Observed{})
	assert.False(t, v[0].Passed)
	assert.Contains(t, v[0].Observed, "no NAT box ran profile gcp-cloud-nat")
}

// Bad settings are reported at their key, with what would be valid.
func TestParseGCPCloudNATInvalid(t *testing.T) {
	for _, tc := range []struct {
		name, old, new string
		want           []string
	}{
		{"max not a power of two", "max_ports_per_vm: 128", "max_ports_per_vm: 100",
			[]string{`s.yaml:3:85: testbed.nat.max_ports_per_vm: 100: with enable_dynamic_port_allocation, max_ports_per_vm must be a power of two greater than min_ports_per_vm 64, at most 65536`}},
		{"min under 32 with dpa", "min_ports_per_vm: 64", "min_ports_per_vm: 16",
			[]string{`s.yaml:3:63: testbed.nat.min_ports_per_vm: 16: with enable_dynamic_port_allocation, min_ports_per_vm must be a power of two of at least 32 (32, 64, 128, ... 32768)`}},
		{"max without dpa", "enable_dynamic_port_allocation: true", "enable_dynamic_port_allocation: false",
			[]string{`s.yaml:3:85: testbed.nat.max_ports_per_vm: max_ports_per_vm can only be set with enable_dynamic_port_allocation: true (without it a VM has min_ports_per_vm ports)`}},
		{"unknown profile", "profile: gcp-cloud-nat, nat_ips: 1, min_ports_per_vm: 64, max_ports_per_vm: 128, enable_dynamic_port_allocation: true, tcp_time_wait_timeout_sec: 60", "profile: azure-nat-gateway",
			[]string{`s.yaml:3:18: testbed.nat.profile: unknown profile "azure-nat-gateway": valid profiles are "linux", "gcp-cloud-nat" and "aws-nat-gateway"`}},
		{"nat_ips under linux", "profile: gcp-cloud-nat, nat_ips: 1, min_ports_per_vm: 64, max_ports_per_vm: 128, enable_dynamic_port_allocation: true, tcp_time_wait_timeout_sec: 60", "nat_ips: 2",
			[]string{`s.yaml:3:9: testbed.nat.nat_ips is the name profiles gcp-cloud-nat and aws-nat-gateway give the NAT IP count: with profile "linux" use ips`}},
		{"nat_ips out of range", "nat_ips: 1", "nat_ips: 0",
			[]string{`s.yaml:3:42: testbed.nat.nat_ips: 0 NAT IPs: a NAT box needs between 1 and 100 NAT IPs`}},
		{"a linux setting", "nat_ips: 1,", "nat_ips: 1, mode: managed,",
			[]string{`s.yaml:3:51: testbed.nat.mode: is a setting of profile "linux", not "gcp-cloud-nat": Cloud NAT always holds a closed connection's port, for tcp_time_wait_timeout_sec`}},
		{"gcp settings under linux", "profile: gcp-cloud-nat, nat_ips: 1,", "ips: 1,",
			[]string{
				`s.yaml:3:35: testbed.nat.min_ports_per_vm: min_ports_per_vm is a setting of profile "gcp-cloud-nat": set profile: gcp-cloud-nat`,
				`s.yaml:3:57: testbed.nat.max_ports_per_vm: max_ports_per_vm is a setting of profile "gcp-cloud-nat": set profile: gcp-cloud-nat`,
				`s.yaml:3:94: testbed.nat.enable_dynamic_port_allocation: enable_dynamic_port_allocation is a setting of profile "gcp-cloud-nat": set profile: gcp-cloud-nat`,
				`s.yaml:3:127: testbed.nat.tcp_time_wait_timeout_sec: tcp_time_wait_timeout_sec is a setting of profile "gcp-cloud-nat": set profile: gcp-cloud-nat`,
			}},
		{"too many VMs", "addresses: 10", "addresses: 1100",
			[]string{`s.yaml:3:63: testbed.nat.min_ports_per_vm: 1101 VMs (the 1100 addresses and the link address of 1 client host) x 64 ports do not fit 1 NAT IP x 64512 ports, which hold 1008: want nat_ips: 2 or a smaller min_ports_per_vm`}},
		{"eim with dpa", "enable_dynamic_port_allocation: true", "enable_dynamic_port_allocation: true, enable_endpoint_independent_mapping: true",
			[]string{`s.yaml:3:165: testbed.nat.enable_endpoint_independent_mapping: true with enable_dynamic_port_allocation: true: Cloud NAT refuses the two together (with endpoint-independent mapping a VM keeps its static min_ports_per_vm); turn one off`}},
		{"eim not a bool", "enable_dynamic_port_allocation: true", "enable_dynamic_port_allocation: true, enable_endpoint_independent_mapping: yes please",
			[]string{`s.yaml:3:165: testbed.nat.enable_endpoint_independent_mapping "yes please": want true or false`}},
		{"unknown reason", "OUT_OF_RESOURCES == 0", "OUT_OF_RESOURCE == 0",
			[]string{`s.yaml:9:13: unknown metric "nat.dropped_sent_packets_count.OUT_OF_RESOURCE": did you mean "nat.dropped_sent_packets_count.OUT_OF_RESOURCES"?`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireParseErrors(t, gcpBase, tc.old, tc.new, tc.want)
		})
	}
}

// requireParseErrors parses base with old replaced by new and requires
// the errors, in order, each to start with its want.
func requireParseErrors(t *testing.T, base, old, new string, want []string) {
	t.Helper()
	require.Contains(t, base, old)
	_, err := Parse("s.yaml", []byte(strings.Replace(base, old, new, 1)), Options{})
	require.Error(t, err)
	got := errorLines(t, err)
	require.Len(t, got, len(want), "%q", got)
	for i := range got {
		assert.True(t, strings.HasPrefix(got[i], want[i]), "got\n%s\nwant prefix\n%s", got[i], want[i])
	}
}
