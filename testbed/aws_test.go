package testbed

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/testbed/natcfg"
	"github.com/natlab/natlab/testbed/service"
)

func awsSpec(a AWSNATGateway, ips int) Spec {
	return Spec{
		NATs:     []NATSpec{{IPs: ips, Profile: ProfileAWSNATGateway, AWS: &a}},
		Clients:  []ClientSpec{{Name: "client", Addresses: 10}},
		Backends: []BackendSpec{{Name: "api", Protocol: service.TCPEcho, Port: 8080}},
	}
}

// Unset settings take AWS's documented defaults: 55,000 connections per
// NAT IP and destination, a 350 s idle timeout, ports 1024-65535.
func TestAWSDefaults(t *testing.T) {
	s := awsSpec(AWSNATGateway{}, 1)
	s.Normalize()
	require.NoError(t, s.Validate())
	n := s.NATs[0]
	assert.Equal(t, AWSNATGateway{MaxConnectionsPerDestination: 55000, IdleTimeoutSec: 350}, *n.AWS)
	assert.Equal(t, AWSPorts, n.Ports)
	assert.Empty(t, n.Mode, "a NAT gateway has no natlab mode")
}

func TestAWSValidationErrors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		spec       Spec
		path, want string
	}{
		{"nine NAT IPs", awsSpec(AWSNATGateway{}, 9), "nats[0].ips", "9 NAT IPs: a NAT gateway has at most 8 (one primary and seven secondary IPv4 addresses)"},
		{"cap over AWS's", awsSpec(AWSNATGateway{MaxConnectionsPerDestination: 60000}, 1), "nats[0].max_connections_per_destination", "60000: want 1 to 55000"},
		{"idle timeout", awsSpec(AWSNATGateway{IdleTimeoutSec: -1}, 1), "nats[0].idle_timeout_sec", "-1: want a number of seconds from 1 to"},
		{"a linux setting", func() Spec { s := awsSpec(AWSNATGateway{}, 1); s.NATs[0].Mode = ModeManaged; return s }(), "nats[0].mode", `is a setting of profile "linux", not "aws-nat-gateway"`},
		{"aws settings on linux", func() Spec { s := validSpec(); s.NATs[0].AWS = &AWSNATGateway{IdleTimeoutSec: 3}; return s }(), "nats[0].idle_timeout_sec", `idle_timeout_sec is a setting of profile "aws-nat-gateway"`},
		{"gcp settings on aws", func() Spec {
			s := awsSpec(AWSNATGateway{}, 1)
			s.NATs[0].GCP = &GCPCloudNAT{MinPortsPerVM: 64}
			return s
		}(), "nats[0].min_ports_per_vm", `min_ports_per_vm is a setting of profile "gcp-cloud-nat"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			requireFieldError(t, s, tc.path, tc.want)
		})
	}
}

// One pool of every block over all NAT IPs, with the settings.
func TestAWSNATConfig(t *testing.T) {
	s := awsSpec(AWSNATGateway{MaxConnectionsPerDestination: 100, IdleTimeoutSec: 3}, 8)
	s.NATs[0].Ports = portrange.Range{First: 1024, Last: 1279}
	s.Normalize()
	require.NoError(t, s.Validate())
	l, err := Plan(&s, 0)
	require.NoError(t, err)
	cfg, err := NATConfig(&s, l, "nat")
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	assert.Equal(t, natcfg.ProfileAWSNATGateway, cfg.Profile)
	require.Len(t, cfg.Pools, 1)
	assert.Len(t, cfg.Pools[0].IPs, 8)
	assert.Equal(t, portrange.Range{First: 1024, Last: 1279}, cfg.Pools[0].Ports)
	assert.Empty(t, cfg.Pools[0].Slices)
	assert.Equal(t, natcfg.AWSConfig{MaxConnectionsPerDestination: 100, IdleTimeout: 3 * time.Second}, *cfg.AWS)
}
