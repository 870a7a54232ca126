package scenario

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/testbed"
)

const awsBase = `name: a
testbed:
  nat: {profile: aws-nat-gateway, nat_ips: 2, max_connections_per_destination: 100, idle_timeout_sec: 3}
  clients: {hosts: 1, addresses: 10}
  backends: [{name: api, protocol: tcp-echo, port: 8080}]
phases:
  - {name: p, duration: 5s, load: {hold: 150}}
assert:
  - expect: nat.ErrorPortAllocation == 0
  - expect: nat.IdleTimeoutCount == 0
  - expect: nat.ActiveConnectionCount >= 150
`

// The aws-nat-gateway keys, and the CloudWatch metrics to assert on.
func TestParseAWSNATGateway(t *testing.T) {
	s, err := Parse("s.yaml", []byte(awsBase), Options{})
	require.NoError(t, err)
	n := s.Testbed.NATs[0]
	assert.Equal(t, testbed.ProfileAWSNATGateway, n.Profile)
	assert.Equal(t, 2, n.IPs)
	assert.Equal(t, testbed.AWSNATGateway{MaxConnectionsPerDestination: 100, IdleTimeoutSec: 3}, *n.AWS)
	require.Len(t, s.Asserts, 3)

	v := Evaluate(s, &Observed{Run: Window{NAT: NATStats{AWS: &AWSStats{ActiveConnectionCount: 150}}}})
	for _, x := range v {
		assert.True(t, x.Passed, "%s: observed %s", x.Expected, x.Observed)
	}
	v = Evaluate(s, &Observed{Run: Window{NAT: NATStats{AWS: &AWSStats{ErrorPortAllocation: 50, ActiveConnectionCount: 100}}}})
	assert.False(t, v[0].Passed)
	assert.False(t, v[2].Passed)
	v = Evaluate(s, &Observed{})
	assert.False(t, v[0].Passed)
	assert.Contains(t, v[0].Observed, "no NAT box ran profile aws-nat-gateway")

	d, err := Parse("s.yaml", []byte(strings.Replace(awsBase, ", max_connections_per_destination: 100, idle_timeout_sec: 3", "", 1)), Options{})
	require.NoError(t, err)
	assert.Equal(t, testbed.AWSNATGateway{MaxConnectionsPerDestination: 55000, IdleTimeoutSec: 350}, *d.Testbed.NATs[0].AWS, "AWS's documented defaults")
}

// Bad settings are reported at their key, with what would be valid.
func TestParseAWSNATGatewayInvalid(t *testing.T) {
	for _, tc := range []struct {
		name, old, new string
		want           []string
	}{
		{"nine NAT IPs", "nat_ips: 2", "nat_ips: 9",
			[]string{`s.yaml:3:44: testbed.nat.nat_ips: 9 NAT IPs: a NAT gateway has at most 8 (one primary and seven secondary IPv4 addresses)`}},
		{"cap over AWS's", "max_connections_per_destination: 100", "max_connections_per_destination: 56000",
			[]string{`s.yaml:3:80: testbed.nat.max_connections_per_destination: 56000: want 1 to 55000 simultaneous connections per NAT IP to one destination`}},
		{"idle timeout zero", "idle_timeout_sec: 3", "idle_timeout_sec: 0",
			[]string{`s.yaml:3:103: testbed.nat.idle_timeout_sec 0: want a number from 1 to`}},
		{"a linux setting", "nat_ips: 2,", "nat_ips: 2, hold: 5s,",
			[]string{`s.yaml:3:53: testbed.nat.hold: is a setting of profile "linux", not "aws-nat-gateway"`}},
		{"aws settings under linux", "profile: aws-nat-gateway, nat_ips: 2,", "ips: 2,",
			[]string{
				`s.yaml:3:50: testbed.nat.max_connections_per_destination: max_connections_per_destination is a setting of profile "aws-nat-gateway": set profile: aws-nat-gateway`,
				`s.yaml:3:73: testbed.nat.idle_timeout_sec: idle_timeout_sec is a setting of profile "aws-nat-gateway": set profile: aws-nat-gateway`,
			}},
		{"unknown metric", "nat.IdleTimeoutCount == 0", "nat.IdleTimeoutCounts == 0",
			[]string{`s.yaml:10:13: unknown metric "nat.IdleTimeoutCounts": did you mean "nat.IdleTimeoutCount"?`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireParseErrors(t, awsBase, tc.old, tc.new, tc.want)
		})
	}
}
