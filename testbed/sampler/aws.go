package sampler

import "github.com/natlab/natlab/testbed/natcfg"

// AWSSample is one reading of an AWS NAT gateway's metrics, named as
// CloudWatch names them (namespace AWS/NATGateway). The counts are since
// the sampler's first reading of the box; each Delta the part of it in
// this tick.
type AWSSample struct {
	ErrorPortAllocation             uint64 `json:"ErrorPortAllocation"`
	ErrorPortAllocationDelta        uint64 `json:"ErrorPortAllocation_delta"`
	PacketsDropCount                uint64 `json:"PacketsDropCount"`
	PacketsDropCountDelta           uint64 `json:"PacketsDropCount_delta"`
	ConnectionAttemptCount          uint64 `json:"ConnectionAttemptCount"`
	ConnectionAttemptCountDelta     uint64 `json:"ConnectionAttemptCount_delta"`
	ConnectionEstablishedCount      uint64 `json:"ConnectionEstablishedCount"`
	ConnectionEstablishedCountDelta uint64 `json:"ConnectionEstablishedCount_delta"`
	IdleTimeoutCount                uint64 `json:"IdleTimeoutCount"`
	IdleTimeoutCountDelta           uint64 `json:"IdleTimeoutCount_delta"`
	// ActiveConnectionCount is the TCP connections open now.
	ActiveConnectionCount int `json:"ActiveConnectionCount"`
}

// AWSMetricNames are the CloudWatch names natlab reads, in the order
// outputs list them.
var AWSMetricNames = []string{"ErrorPortAllocation", "PacketsDropCount", "ActiveConnectionCount",
	"ConnectionAttemptCount", "ConnectionEstablishedCount", "IdleTimeoutCount"}

// awsSample turns a reading into a sample: counts since the profile was
// applied, deltas since last. The profile's counters start at zero when
// its config is applied, before any load of the run, so a box's first
// reading counts from zero rather than being the baseline: the
// connections a run makes while the sampler takes its first reading are
// counted too. last is m itself for a box's first reading, nil for a
// reading before the profile.
func awsSample(m, last *natcfg.AWSMetrics) *AWSSample {
	var f, l natcfg.AWSMetrics // f: the zero baseline
	if last != nil && last != m {
		l = *last
	}
	return &AWSSample{
		ErrorPortAllocation: sub(m.ErrorPortAllocation, f.ErrorPortAllocation), ErrorPortAllocationDelta: sub(m.ErrorPortAllocation, l.ErrorPortAllocation),
		PacketsDropCount: sub(m.PacketsDropCount, f.PacketsDropCount), PacketsDropCountDelta: sub(m.PacketsDropCount, l.PacketsDropCount),
		ConnectionAttemptCount: sub(m.ConnectionAttemptCount, f.ConnectionAttemptCount), ConnectionAttemptCountDelta: sub(m.ConnectionAttemptCount, l.ConnectionAttemptCount),
		ConnectionEstablishedCount: sub(m.ConnectionEstablishedCount, f.ConnectionEstablishedCount), ConnectionEstablishedCountDelta: sub(m.ConnectionEstablishedCount, l.ConnectionEstablishedCount),
		IdleTimeoutCount: sub(m.IdleTimeoutCount, f.IdleTimeoutCount), IdleTimeoutCountDelta: sub(m.IdleTimeoutCount, l.IdleTimeoutCount),
		ActiveConnectionCount: m.ActiveConnectionCount,
	}
}

// awsMetric answers an AWS NAT gateway metric name (without "nat." and
// host), or one with _delta for the tick's rise.
func awsMetric(a *AWSSample, name string) (float64, bool) {
	switch name {
	case "ErrorPortAllocation":
		return float64(a.ErrorPortAllocation), true
	case "ErrorPortAllocation_delta":
		return float64(a.ErrorPortAllocationDelta), true
	case "PacketsDropCount":
		return float64(a.PacketsDropCount), true
	case "PacketsDropCount_delta":
		return float64(a.PacketsDropCountDelta), true
	case "ConnectionAttemptCount":
		return float64(a.ConnectionAttemptCount), true
	case "ConnectionAttemptCount_delta":
		return float64(a.ConnectionAttemptCountDelta), true
	case "ConnectionEstablishedCount":
		return float64(a.ConnectionEstablishedCount), true
	case "ConnectionEstablishedCount_delta":
		return float64(a.ConnectionEstablishedCountDelta), true
	case "IdleTimeoutCount":
		return float64(a.IdleTimeoutCount), true
	case "IdleTimeoutCount_delta":
		return float64(a.IdleTimeoutCountDelta), true
	case "ActiveConnectionCount":
		return float64(a.ActiveConnectionCount), true
	}
	return 0, false
}

// awsMetric answers an AWS NAT gateway metric summed over every
// aws-nat-gateway NAT box; found is false for other names, and when no
// box gave such a reading.
func (s Sample) awsMetric(name string) (float64, bool) {
	var out float64
	found := false
	for _, n := range s.NATs {
		if n.Err != "" || n.AWS == nil {
			continue
		}
		v, ok := awsMetric(n.AWS, name)
		if !ok {
			return 0, false
		}
		out += v
		found = true
	}
	return out, found
}
