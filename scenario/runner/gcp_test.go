package runner

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/scenario"
	"github.com/natlab/natlab/testbed/sampler"
)

// Over a window Cloud NAT's gauges are the highest sampled, the failure
// any, the counts their rise; as alarms, counts are the tick's rise.
func TestNATStatsOfCloudNAT(t *testing.T) {
	sec := time.Second
	tick := func(at time.Duration, alloc, open int, failed bool, dropped, newConns uint64) sampler.Sample {
		return sampler.Sample{At: at, NATs: []sampler.NATSample{{Host: "nat", IPForward: true, GCP: &sampler.GCPSample{
			AllocatedPorts: map[string]int{"198.18.0.10": alloc, "198.18.0.11": 64}, PortUsage: map[string]int{"198.18.0.10": alloc},
			AllocationFailed: failed, OpenConnections: open,
			DroppedSentDelta: map[string]uint64{"OUT_OF_RESOURCES": dropped, "ENDPOINT_INDEPENDENCE_CONFLICT": dropped / 4}, NewConnectionsDelta: newConns}}}}
	}
	ticks := []sampler.Sample{tick(1*sec, 64, 70, false, 16, 64), tick(2*sec, 128, 80, true, 4, 16), tick(3*sec, 64, 10, false, 0, 0)}
	st := natStats(ticks, "", -1, wholeRun, sec)
	require.NotNil(t, st.GCP)
	assert.Equal(t, scenario.GCPStats{AllocatedPorts: 128, PortUsage: 128, OpenConnections: 80, AllocationFailed: true,
		DroppedSent: map[string]uint64{"OUT_OF_RESOURCES": 20, "ENDPOINT_INDEPENDENCE_CONFLICT": 5}, NewConnections: 80}, *st.GCP)
	assert.Nil(t, natStats(ticks[:1], "other", -1, wholeRun, sec).GCP, "another box has no Cloud NAT reading")

	v, ok := tickValue("nat.dropped_sent_packets_count.OUT_OF_RESOURCES", ClientTick{Interval: sec}, ticks[1])
	assert.True(t, ok)
	assert.Equal(t, 4.0, v)
	v, ok = tickValue("nat.dropped_sent_packets_count.ENDPOINT_INDEPENDENCE_CONFLICT", ClientTick{Interval: sec}, ticks[0])
	assert.True(t, ok)
	assert.Equal(t, 4.0, v)
	v, _ = tickValue("nat.new_connections_count", ClientTick{Interval: sec}, ticks[0])
	assert.Equal(t, 64.0, v)
	v, _ = tickValue("nat.allocated_ports", ClientTick{Interval: sec}, ticks[1])
	assert.Equal(t, 128.0, v)
}

// Over a window the NAT gateway's counts are their rise and
// ActiveConnectionCount the highest sampled sum over boxes; as alarms the
// counts are the tick's rise.
func TestNATStatsOfAWSNATGateway(t *testing.T) {
	sec := time.Second
	tick := func(at time.Duration, active int, epa, idle uint64) sampler.Sample {
		a := &sampler.AWSSample{ActiveConnectionCount: active, ErrorPortAllocationDelta: epa, IdleTimeoutCountDelta: idle, ConnectionAttemptCountDelta: epa + 1}
		return sampler.Sample{At: at, NATs: []sampler.NATSample{{Host: "nat", IPForward: true, AWS: a}, {Host: "nat2", IPForward: true, AWS: &sampler.AWSSample{ActiveConnectionCount: 1}}}}
	}
	ticks := []sampler.Sample{tick(1*sec, 100, 50, 0), tick(2*sec, 150, 0, 0), tick(3*sec, 92, 0, 8)}
	st := natStats(ticks, "", -1, wholeRun, sec)
	require.NotNil(t, st.AWS)
	assert.Equal(t, scenario.AWSStats{ErrorPortAllocation: 50, ActiveConnectionCount: 151, ConnectionAttemptCount: 53, IdleTimeoutCount: 8}, *st.AWS)
	assert.Equal(t, 150, natStats(ticks, "nat", -1, wholeRun, sec).AWS.ActiveConnectionCount)
	v, ok := tickValue("nat.IdleTimeoutCount", ClientTick{Interval: sec}, ticks[2])
	assert.True(t, ok)
	assert.Equal(t, 8.0, v)
	v, _ = tickValue("nat.ActiveConnectionCount", ClientTick{Interval: sec}, ticks[1])
	assert.Equal(t, 151.0, v)
}
