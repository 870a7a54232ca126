package livemetrics

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/chaos"
	"github.com/natlab/natlab/internal/metricstest"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/scenario/runner"
	"github.com/natlab/natlab/testbed/sampler"
)

func TestCheckAddr(t *testing.T) {
	for _, c := range []struct {
		addr   string
		public bool
		want   string
		err    string
	}{
		{addr: ":9464", want: "127.0.0.1:9464"},
		{addr: "127.0.0.1:9464", want: "127.0.0.1:9464"},
		{addr: "localhost:0", want: "localhost:0"},
		{addr: "[::1]:9464", want: "[::1]:9464"},
		{addr: "0.0.0.0:9464", err: "not a loopback address"},
		{addr: "198.18.0.1:9464", err: "--metrics-public"},
		{addr: "0.0.0.0:9464", public: true, want: "0.0.0.0:9464"},
		{addr: "9464", err: "want HOST:PORT"},
	} {
		got, err := CheckAddr(c.addr, c.public)
		if c.err != "" {
			assert.ErrorContains(t, err, c.err, c.addr)
			continue
		}
		require.NoError(t, err, c.addr)
		assert.Equal(t, c.want, got, c.addr)
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Content-Type"), "application/openmetrics-text")
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// The endpoint serves what the run fed it, labelled with the run, in the
// OpenMetrics format, and is gone once closed.
func TestServerServesTheRun(t *testing.T) {
	s, err := Listen("127.0.0.1:0")
	require.NoError(t, err)
	assert.NotContains(t, scrape(t, s.URL()), "natlab_", "nothing before the run begins")

	s.run.Begin(runner.RunInfo{RunID: "nl-1", Scenario: "exhaust", NATs: []string{"nat", "cloudnat"},
		Faults: []runner.FaultInfo{{Name: "fwd-off", Kind: "sysctl", Host: "nat"}}})
	h := loadgen.TickHistograms{Connect: loadgen.NewHistogram(), Request: loadgen.NewHistogram(), Failed: loadgen.NewHistogram()}
	h.Request.Record(3 * time.Millisecond)
	h.Failed.Record(2 * time.Second)
	s.run.Sample(loadgen.Sample{Attempts: 3, NewConns: 2, Histograms: &h,
		Outcomes: map[loadgen.Outcome]uint64{loadgen.OutcomeOK: 1, loadgen.OutcomeConnectTimeout: 1}})
	s.run.Tick(runner.ClientTick{Phase: "peak", Interval: time.Second, NewConns: 2, OpenConns: 5,
		Outcomes: map[loadgen.Outcome]uint64{loadgen.OutcomeOK: 1}},
		sampler.Sample{NATs: []sampler.NATSample{{Host: "nat", ConntrackEntries: 40, AllocationFailures: 7, PortsInUse: 100,
			PortUtilization: 0.75, IPUtilization: map[string]float64{"198.19.0.10": 0.75}, IPForward: true,
			AWS: &sampler.AWSSample{ErrorPortAllocation: 50, IdleTimeoutCount: 8, ActiveConnectionCount: 92}},
			{Host: "cloudnat", IPForward: true, GCP: &sampler.GCPSample{
				AllocatedPorts: map[string]int{"198.18.0.10": 128, "198.18.0.11": 64}, PortUsage: map[string]int{"198.18.0.10": 80, "198.18.0.11": 64},
				AllocationFailed: true, DroppedSent: map[string]uint64{"OUT_OF_RESOURCES": 96}, NewConnections: 144, OpenConnections: 120}}}})
	s.run.Marker(chaos.Marker{Fault: "fwd-off", Event: chaos.EventInject})

	body := scrape(t, s.URL())
	assert.True(t, strings.HasSuffix(body, "# EOF\n"), "an OpenMetrics exposition ends with # EOF")
	f, err := metricstest.Scrape(s.URL())
	require.NoError(t, err)
	run := []string{"run_id", "nl-1", "scenario", "exhaust"}
	nat := append([]string{"nat", "nat"}, run...)
	gcp := append([]string{"nat", "cloudnat"}, run...)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"natlab_client_attempts_total", run, 3},
		{"natlab_client_outcomes_total", append([]string{"outcome", "connect_timeout"}, run...), 1},
		{"natlab_client_outcomes_total", append([]string{"outcome", "ok"}, run...), 1},
		{"natlab_client_new_connections_total", run, 2},
		{"natlab_client_new_connections_per_second", run, 2},
		{"natlab_client_open_connections", run, 5},
		{"natlab_client_request_duration_seconds", run, 1},
		{"natlab_client_failed_attempt_duration_seconds", run, 1},
		{"natlab_run_phase", append([]string{"phase", "peak"}, run...), 1},
		{"natlab_nat_port_utilization", append([]string{"nat_ip", "198.19.0.10"}, nat...), 0.75},
		{"natlab_nat_conntrack_entries", nat, 40},
		{"natlab_nat_ports_in_use", nat, 100},
		{"natlab_nat_allocation_failures_total", nat, 7},
		{"natlab_nat_ip_forward", nat, 1},
		{"natlab_nat_aws_ErrorPortAllocation_total", nat, 50},
		{"natlab_nat_aws_IdleTimeoutCount_total", nat, 8},
		{"natlab_nat_aws_PacketsDropCount_total", nat, 0},
		{"natlab_nat_aws_ActiveConnectionCount", nat, 92},
		{"natlab_nat_gcp_allocated_ports", append([]string{"vm", "198.18.0.10"}, gcp...), 128},
		{"natlab_nat_gcp_allocated_ports", append([]string{"vm", "198.18.0.11"}, gcp...), 64},
		{"natlab_nat_gcp_port_usage", append([]string{"vm", "198.18.0.10"}, gcp...), 80},
		{"natlab_nat_gcp_nat_allocation_failed", gcp, 1},
		{"natlab_nat_gcp_dropped_sent_packets_count_total", append([]string{"reason", "OUT_OF_RESOURCES"}, gcp...), 96},
		{"natlab_nat_gcp_dropped_sent_packets_count_total", append([]string{"reason", "ENDPOINT_INDEPENDENCE_CONFLICT"}, gcp...), 0},
		{"natlab_nat_gcp_new_connections_count_total", gcp, 144},
		{"natlab_nat_gcp_open_connections", gcp, 120},
		{"natlab_fault_active", append([]string{"fault", "fwd-off", "kind", "sysctl", "host", "nat"}, run...), 1},
	} {
		got, ok := f.Value(c.name, c.labels...)
		if assert.True(t, ok, "%s%v not served", c.name, c.labels) {
			assert.Equal(t, c.want, got, "%s%v", c.name, c.labels)
		}
	}
	_, ok := f.Value("natlab_nat_gcp_open_connections", nat...)
	assert.False(t, ok, "a box of another profile serves no Cloud NAT metrics")
	n, ok := f.Bucket("natlab_client_failed_attempt_duration_seconds", 1, run...)
	assert.True(t, ok)
	assert.Equal(t, uint64(0), n, "the 2s failure is above the 1s bucket")
	n, _ = f.Bucket("natlab_client_failed_attempt_duration_seconds", 2.5, run...)
	assert.Equal(t, uint64(1), n)

	s.run.Marker(chaos.Marker{Fault: "fwd-off", Event: chaos.EventRevert})
	f, err = metricstest.Scrape(s.URL())
	require.NoError(t, err)
	v, _ := f.Value("natlab_fault_active", "fault", "fwd-off")
	assert.Equal(t, 0.0, v, "the flag is down after the revert")

	require.NoError(t, s.Close())
	_, err = http.Get(s.URL())
	require.Error(t, err, "the endpoint is gone after Close")
	assert.True(t, strings.Contains(err.Error(), "refused"), err.Error())
}
