package scenario

import (
	"math"

	"github.com/natlab/natlab/testbed"
)

// profileNATKeys are the keys of testbed.nat that choose and set a NAT
// profile. The gcp-cloud-nat settings are named as Terraform's
// google_compute_router_nat names them, so that they can be copied from
// infrastructure code; nat_ips counts the NAT IPs (ips, by that name).
var profileNATKeys = []string{"profile", "nat_ips",
	"min_ports_per_vm", "max_ports_per_vm", "enable_dynamic_port_allocation",
	"enable_endpoint_independent_mapping",
	"tcp_time_wait_timeout_sec", "tcp_established_idle_timeout_sec",
	"tcp_transitory_idle_timeout_sec", "udp_idle_timeout_sec",
	"max_connections_per_destination", "idle_timeout_sec"}

// natProfile reads the profile keys of a NAT into ns. testbed.Spec.Validate
// judges them; what it says about "nats[0].min_ports_per_vm" lands on the
// key here.
func (p *parser) natProfile(m *mapping, label, path string, fp *fieldPos, ns *testbed.NATSpec) {
	p.strField(m, "profile", label, path, fp, &ns.Profile)
	if v := m.get("nat_ips"); v != nil {
		switch {
		case m.get("ips") != nil:
			p.errs.add(m.keyPos("nat_ips"), "%s has both ips and nat_ips: they are one setting, give one", label)
		case ns.Profile != testbed.ProfileGCPCloudNAT && ns.Profile != testbed.ProfileAWSNATGateway:
			p.errs.add(m.keyPos("nat_ips"), "%s.nat_ips is the name profiles %s and %s give the NAT IP count: with profile %q use ips",
				label, testbed.ProfileGCPCloudNAT, testbed.ProfileAWSNATGateway, profileName(ns.Profile))
		default:
			// Problems with the count are told at nat_ips.
			fp.set(path+".ips", label+".nat_ips", posOf(v))
			if n, ok := p.integer(v, label+".nat_ips", math.MinInt32, math.MaxInt32); ok {
				ns.IPs = n
			}
		}
	}
	gcp := func() *testbed.GCPCloudNAT {
		if ns.GCP == nil {
			ns.GCP = &testbed.GCPCloudNAT{}
		}
		return ns.GCP
	}
	for _, k := range []struct {
		key string
		dst func() *int
	}{
		{"min_ports_per_vm", func() *int { return &gcp().MinPortsPerVM }},
		{"max_ports_per_vm", func() *int { return &gcp().MaxPortsPerVM }},
		{"tcp_time_wait_timeout_sec", func() *int { return &gcp().TCPTimeWaitTimeoutSec }},
		{"tcp_established_idle_timeout_sec", func() *int { return &gcp().TCPEstablishedIdleTimeoutSec }},
		{"tcp_transitory_idle_timeout_sec", func() *int { return &gcp().TCPTransitoryIdleTimeoutSec }},
		{"udp_idle_timeout_sec", func() *int { return &gcp().UDPIdleTimeoutSec }},
	} {
		if m.get(k.key) != nil {
			// 0 would read as unset: the least is 1.
			p.intField(m, k.key, label, path, fp, 1, math.MaxInt32, k.dst())
		}
	}
	p.awsSettings(m, label, path, fp, ns)
	for _, k := range []struct {
		key string
		dst func() *bool
	}{
		{"enable_dynamic_port_allocation", func() *bool { return &gcp().EnableDynamicPortAllocation }},
		{"enable_endpoint_independent_mapping", func() *bool { return &gcp().EnableEndpointIndependentMapping }},
	} {
		if v := m.get(k.key); v != nil {
			fp.set(path+"."+k.key, label+"."+k.key, posOf(v))
			if b, ok := p.boolean(v, label+"."+k.key); ok {
				*k.dst() = b
			}
		}
	}
}

func profileName(p string) string {
	if p == "" {
		return testbed.ProfileLinux
	}
	return p
}
