package scenario

import (
	"math"

	"github.com/natlab/natlab/testbed"
)

// awsSettings reads the aws-nat-gateway keys of a NAT into ns (the NAT IP
// count is nat_ips, read with the profile). testbed.Spec.Validate judges
// them; what it says about "nats[0].idle_timeout_sec" lands on the key.
func (p *parser) awsSettings(m *mapping, label, path string, fp *fieldPos, ns *testbed.NATSpec) {
	aws := func() *testbed.AWSNATGateway {
		if ns.AWS == nil {
			ns.AWS = &testbed.AWSNATGateway{}
		}
		return ns.AWS
	}
	for _, k := range []struct {
		key string
		dst func() *int
	}{
		{"max_connections_per_destination", func() *int { return &aws().MaxConnectionsPerDestination }},
		{"idle_timeout_sec", func() *int { return &aws().IdleTimeoutSec }},
	} {
		if m.get(k.key) != nil {
			// 0 would read as unset: the least is 1.
			p.intField(m, k.key, label, path, fp, 1, math.MaxInt32, k.dst())
		}
	}
}
