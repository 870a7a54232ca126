package testbed

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/internal/field"
	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/testbed/natcfg"
	"github.com/natlab/natlab/testbed/service"
)

func gcpSpec(g GCPCloudNAT, addresses int) Spec {
	return Spec{
		NATs:     []NATSpec{{IPs: 1, Profile: ProfileGCPCloudNAT, GCP: &g}},
		Clients:  []ClientSpec{{Name: "client", Addresses: addresses}},
		Backends: []BackendSpec{{Name: "api", Protocol: service.TCPEcho, Port: 8080}},
	}
}

// Unset settings take Cloud NAT's documented defaults; the minimum with
// dynamic port allocation is 32, without it 64.
func TestGCPDefaults(t *testing.T) {
	s := gcpSpec(GCPCloudNAT{}, 10)
	s.Normalize()
	require.NoError(t, s.Validate())
	n := s.NATs[0]
	assert.Equal(t, GCPCloudNAT{MinPortsPerVM: 64, TCPTimeWaitTimeoutSec: 120, TCPEstablishedIdleTimeoutSec: 1200,
		TCPTransitoryIdleTimeoutSec: 30, UDPIdleTimeoutSec: 30}, *n.GCP)
	assert.Equal(t, GCPPorts, n.Ports)
	assert.Empty(t, n.Mode, "a Cloud NAT has no natlab mode")

	d := gcpSpec(GCPCloudNAT{EnableDynamicPortAllocation: true}, 10)
	d.Normalize()
	require.NoError(t, d.Validate())
	assert.Equal(t, 32, d.NATs[0].GCP.MinPortsPerVM)
	assert.Equal(t, 65536, d.NATs[0].GCP.MaxPortsPerVM)
	assert.Equal(t, 32768, d.NATs[0].GCP.MaxAllocation(), "a VM's block lives on one NAT IP")

	r := gcpSpec(GCPCloudNAT{MinPortsPerVM: 50}, 10)
	r.Normalize()
	require.NoError(t, r.Validate())
	assert.Equal(t, 64, r.NATs[0].GCP.Allocation(), "min_ports_per_vm is rounded up to a power of two")
}

// Bad gcp-cloud-nat settings are refused at the key they came from, with
// what would be valid.
func TestGCPValidationErrors(t *testing.T) {
	dpa := func(min, max int) GCPCloudNAT {
		return GCPCloudNAT{EnableDynamicPortAllocation: true, MinPortsPerVM: min, MaxPortsPerVM: max}
	}
	cases := []struct {
		name   string
		spec   Spec
		mutate func(*Spec)
		path   string
		want   string
	}{
		{"dpa min not a power of two", gcpSpec(dpa(48, 128), 1), nil, "nats[0].min_ports_per_vm", "power of two of at least 32"},
		{"dpa min under 32", gcpSpec(dpa(16, 128), 1), nil, "nats[0].min_ports_per_vm", "at least 32"},
		{"dpa max not above min", gcpSpec(dpa(64, 64), 1), nil, "nats[0].max_ports_per_vm", "greater than min_ports_per_vm 64"},
		{"dpa max not a power of two", gcpSpec(dpa(64, 100), 1), nil, "nats[0].max_ports_per_vm", "power of two"},
		{"dpa max too big", gcpSpec(dpa(64, 131072), 1), nil, "nats[0].max_ports_per_vm", "at most 65536"},
		{"max without dpa", gcpSpec(GCPCloudNAT{MinPortsPerVM: 64, MaxPortsPerVM: 128}, 1), nil, "nats[0].max_ports_per_vm", "only be set with enable_dynamic_port_allocation"},
		{"eim with dpa", gcpSpec(GCPCloudNAT{MinPortsPerVM: 64, MaxPortsPerVM: 128, EnableDynamicPortAllocation: true, EnableEndpointIndependentMapping: true}, 1), nil, "nats[0].enable_endpoint_independent_mapping", "refuses the two together"},
		{"eim on linux", validSpec(), func(s *Spec) { s.NATs[0].GCP = &GCPCloudNAT{EnableEndpointIndependentMapping: true} }, "nats[0].enable_endpoint_independent_mapping", "set profile: gcp-cloud-nat"},
		{"min negative", gcpSpec(GCPCloudNAT{MinPortsPerVM: -1}, 1), nil, "nats[0].min_ports_per_vm", "want 1 to 65536"},
		{"min over one NAT IP", gcpSpec(GCPCloudNAT{MinPortsPerVM: 40000}, 1), nil, "nats[0].min_ports_per_vm", "rounds up to 65536"},
		{"timeout negative", gcpSpec(GCPCloudNAT{TCPTimeWaitTimeoutSec: -5}, 1), nil, "nats[0].tcp_time_wait_timeout_sec", "from 1 to"},
		{"VMs do not fit", gcpSpec(GCPCloudNAT{MinPortsPerVM: 64}, 1500), nil, "nats[0].min_ports_per_vm", "want nat_ips: 2"},
		{"linux mode", gcpSpec(GCPCloudNAT{}, 1), func(s *Spec) { s.NATs[0].Mode = ModeManaged }, "nats[0].mode", `setting of profile "linux"`},
		{"linux hold", gcpSpec(GCPCloudNAT{}, 1), func(s *Spec) { s.NATs[0].Hold = time.Second }, "nats[0].hold", "tcp_time_wait_timeout_sec"},
		{"linux static slices", gcpSpec(GCPCloudNAT{}, 1), func(s *Spec) { s.NATs[0].PortsPerHost = 64 }, "nats[0].ports_per_host", "min_ports_per_vm"},
		{"linux port range", gcpSpec(GCPCloudNAT{}, 1), func(s *Spec) { s.NATs[0].Ports = portrange.Range{First: 1024, Last: 2047} }, "nats[0].ports", "1024-65535"},
		{"gcp settings on linux", validSpec(), func(s *Spec) { s.NATs[0].GCP = &GCPCloudNAT{MinPortsPerVM: 64} }, "nats[0].min_ports_per_vm", "set profile: gcp-cloud-nat"},
		{"unknown profile", validSpec(), func(s *Spec) { s.NATs[0].Profile = "azure-nat-gateway" }, "nats[0].profile", `valid profiles are "linux", "gcp-cloud-nat" and "aws-nat-gateway"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			if tc.mutate != nil {
				tc.mutate(&s)
			}
			requireFieldError(t, s, tc.path, tc.want)
		})
	}
	s := validSpec()
	s.NATs[0].Profile = "azure-nat-gateway"
	s.Normalize()
	fields, _ := field.List(s.Validate())
	require.NotEmpty(t, fields)
	assert.Equal(t, natcfg.Profiles, fields[0].Valid, "the valid profiles are listed for suggestions")
}

// Without dynamic port allocation the blocks lie back to back; with it
// each sits at the start of a slot it can double into, up to the max.
func TestGCPNATConfig(t *testing.T) {
	for _, tc := range []struct {
		name      string
		g         GCPCloudNAT
		stride    uint16
		min, max  int
		addresses int
	}{
		{"static", GCPCloudNAT{MinPortsPerVM: 64}, 64, 64, 64, 10},
		{"dpa", GCPCloudNAT{EnableDynamicPortAllocation: true, MinPortsPerVM: 64, MaxPortsPerVM: 128}, 128, 64, 128, 10},
		{"dpa slots as wide as fit", GCPCloudNAT{EnableDynamicPortAllocation: true, MinPortsPerVM: 32}, 4096, 32, 32768, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := gcpSpec(tc.g, tc.addresses)
			s.Normalize()
			require.NoError(t, s.Validate())
			l, err := Plan(&s, 0)
			require.NoError(t, err)
			cfg, err := NATConfig(&s, l, "nat")
			require.NoError(t, err)
			require.NoError(t, cfg.Validate())
			assert.Equal(t, natcfg.ProfileGCPCloudNAT, cfg.Profile)
			assert.Equal(t, 120*time.Second, cfg.Hold)
			require.Len(t, cfg.Pools, 1)
			blocks := cfg.Pools[0].Slices
			require.Len(t, blocks, tc.addresses+1, "one VM per source address and one for the link address")
			for i, b := range blocks {
				assert.Equal(t, uint16(1024)+uint16(i)*tc.stride, b.Ports.First, "block %d", i)
				assert.Equal(t, tc.min, b.Ports.Size())
			}
			assert.Equal(t, tc.min, cfg.GCP.MinPorts)
			assert.Equal(t, tc.max, cfg.GCP.MaxPorts)
		})
	}
}
