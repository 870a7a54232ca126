package runner

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/reports"
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

// Cloud NAT's readings in report rows: the VM with the most, every drop
// reason (zeros too), the tick's rises. Two readings on one row (the
// first late by over half a tick) add their rises and keep their levels'
// peaks, so samples.csv still sums to the report's figures; the summary
// has each VM's peaks, in address order.
func TestCloudNATInReportRows(t *testing.T) {
	sec := time.Second
	read := func(at time.Duration, alloc10, usage10, open int, failed bool, oor, newConns uint64) sampler.Sample {
		return sampler.Sample{At: at, NATs: []sampler.NATSample{{Host: "nat", IPForward: true, GCP: &sampler.GCPSample{
			AllocatedPorts: map[string]int{"198.18.0.10": alloc10, "198.18.0.9": 64}, PortUsage: map[string]int{"198.18.0.10": usage10, "198.18.0.9": 30},
			AllocationFailed: failed, OpenConnections: open,
			DroppedSentDelta: map[string]uint64{"OUT_OF_RESOURCES": oor}, NewConnectionsDelta: newConns}}}}
	}
	ticks := []sampler.Sample{
		read(1*sec, 64, 64, 94, true, 16, 94),
		read(2600*time.Millisecond, 128, 80, 110, false, 4, 16),
		read(3100*time.Millisecond, 128, 70, 100, false, 2, 0),
	}
	r := &run{tick: sec, series: newSeries(sec, nil)}
	rows := r.samples(ticks)
	require.Len(t, rows, 2)
	assert.Equal(t, &reports.GCPMetrics{AllocatedPorts: 64, PortUsage: 64, AllocationFailed: true, OpenConnections: 94,
		DroppedSent: map[string]uint64{"OUT_OF_RESOURCES": 16, "ENDPOINT_INDEPENDENCE_CONFLICT": 0}, NewConnections: 94}, rows[0].NAT["nat"].GCP)
	assert.Equal(t, &reports.GCPMetrics{AllocatedPorts: 128, PortUsage: 80, OpenConnections: 110,
		DroppedSent: map[string]uint64{"OUT_OF_RESOURCES": 6, "ENDPOINT_INDEPENDENCE_CONFLICT": 0}, NewConnections: 16}, rows[1].NAT["nat"].GCP)

	assert.Equal(t, []reports.GCPVM{{VM: "198.18.0.9", AllocatedPorts: 64, PortUsage: 30}, {VM: "198.18.0.10", AllocatedPorts: 128, PortUsage: 80}},
		gcpVMs(ticks, "nat"))
	assert.Empty(t, gcpVMs(ticks, "other"))
}

// The progress line shows Cloud NAT's figures after the NAT's own.
func TestLiveLineOfCloudNAT(t *testing.T) {
	l := Live{At: 3 * time.Second, Phase: "hold", PortUtilization: 0.5, Conntrack: 128,
		GCP: &LiveGCP{AllocatedPorts: 64, PortUsage: 64, OutOfResources: 96}}
	assert.Contains(t, l.line(), "conntrack    128  allocated_ports 64  port_usage 64  OUT_OF_RESOURCES 96  ENDPOINT_INDEPENDENCE_CONFLICT 0")
}
