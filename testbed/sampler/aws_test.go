package sampler

import (
	"testing"

	"github.com/natlab/natlab/testbed/natcfg"
)

// NAT gateway readings count from zero (the profile's counters start when
// it is applied): a box's first reading is all its own delta, later ones
// the rise since the last; the metrics add up over boxes.
func TestAWSSampleAndMetrics(t *testing.T) {
	first := &natcfg.AWSMetrics{ErrorPortAllocation: 3, ConnectionAttemptCount: 10, ActiveConnectionCount: 7}
	if a := awsSample(first, first); a.ErrorPortAllocation != 3 || a.ErrorPortAllocationDelta != 3 || a.ConnectionAttemptCountDelta != 10 {
		t.Errorf("first reading %+v, want its counts as its deltas", a)
	}
	now := &natcfg.AWSMetrics{ErrorPortAllocation: 50, PacketsDropCount: 100, ConnectionAttemptCount: 150,
		ConnectionEstablishedCount: 100, IdleTimeoutCount: 8, ActiveConnectionCount: 92}
	a := awsSample(now, first)
	s := Sample{NATs: []NATSample{{Host: "nat", AWS: a}, {Host: "nat2", AWS: awsSample(first, first)}, {Host: "linux"}}}
	for name, want := range map[string]float64{
		"nat.ErrorPortAllocation":              53,
		"nat.ErrorPortAllocation_delta":        50,
		"nat.PacketsDropCount":                 100,
		"nat.ConnectionAttemptCount":           160,
		"nat.ConnectionAttemptCount_delta":     150,
		"nat.ConnectionEstablishedCount_delta": 100,
		"nat.IdleTimeoutCount":                 8,
		"nat.ActiveConnectionCount":            99,
		"nat.nat.ErrorPortAllocation_delta":    47,
		"nat.nat2.ActiveConnectionCount":       7,
	} {
		if v, ok := s.Metric(name); !ok || v != want {
			t.Errorf("%s = %v (%v), want %v", name, v, ok, want)
		}
	}
	if _, ok := (Sample{NATs: []NATSample{{Host: "linux"}}}).Metric("nat.IdleTimeoutCount"); ok {
		t.Error("a NAT gateway metric without a NAT gateway has a value")
	}
}
