package sampler_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/natlab/natlab/testbed/sampler"
)

func TestSampleMetric(t *testing.T) {
	s := sampler.Sample{
		NATs: []sampler.NATSample{
			{Host: "a", ConntrackEntries: 10, AllocationFailures: 3, AllocationFailuresDelta: 1, PortUtilization: 0.5, IPForward: true, ForwardedDelta: 7},
			{Host: "b", ConntrackEntries: 5, AllocationFailures: 2, PortUtilization: 0.9, IPForward: false, ForwardedDelta: 1},
			{Host: "dead", Err: "agent gone", PortUtilization: 5},
		},
		Backends: []sampler.BackendSample{{Host: "api", Accepted: 40, AcceptedDelta: 4, Active: 12}},
	}
	cases := []struct {
		name string
		want float64
		ok   bool
	}{
		{"nat.port_utilization", 0.9, true},
		{"nat.conntrack", 15, true},
		{"nat.allocation_failures", 5, true},
		{"nat.allocation_failures_delta", 1, true},
		{"nat.forwarded_delta", 8, true},
		{"nat.ip_forward", 0, true},
		{"nat.a.ip_forward", 1, true},
		{"nat.a.port_utilization", 0.5, true},
		{"nat.b.conntrack", 5, true},
		{"nat.dead.port_utilization", 0, false},
		{"backend.api.accepted", 40, true},
		{"backend.api.accepted_delta", 4, true},
		{"backend.api.active", 12, true},
		{"backend.web.active", 0, false},
		{"nat.bogus", 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := s.Metric(tc.name)
			assert.Equal(t, tc.ok, ok)
			assert.InDelta(t, tc.want, v, 1e-9)
		})
	}
}
