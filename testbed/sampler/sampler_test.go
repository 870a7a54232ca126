package sampler_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natcfg"
	"github.com/natlab/natlab/testbed/sampler"
	"github.com/natlab/natlab/testbed/service"
	tt "github.com/natlab/natlab/testbed/testbedtest"
)

func TestMain(m *testing.M) { tt.Main(m) }

var up = tt.Up

// hold keeps n connections open, with connect attempts given up quickly.
func hold(target string, n int, d time.Duration) loadgen.Plan {
	p := tt.HoldPlan(target, n, d)
	p.ConnectTimeout = time.Second
	return p
}

func run(t testing.TB, tb *testbed.Testbed, plan loadgen.Plan) loadgen.Counts {
	t.Helper()
	return tt.Load(t, tb, "client", plan).Total.Counts
}

// A hold storm fills 256 NAT ports in two steps (220 held, then 100 more):
// port utilization reaches 1.0, and the 80% alarm fires a tick or more
// before the first allocation failure.
func TestAlarmFiresBeforeAllocationFailures(t *testing.T) {
	t.Parallel()
	tb := up(t, testbed.Spec{
		NATs:     []testbed.NATSpec{{IPs: 1, Ports: natcfg.PortRange{First: 1024, Last: 1279}}},
		Clients:  []testbed.ClientSpec{{Name: "client", Addresses: 1}},
		Backends: []testbed.BackendSpec{{Name: "api", Protocol: service.TCPEcho, Port: 8080}},
	})
	be, _ := tb.Run.Layout.Backend("api")
	tgt := fmt.Sprintf("%s:%d", be.Addr, 8080)

	got := make(chan sampler.Sample, 1000)
	s, err := sampler.New(tb, sampler.Options{
		Tick: 100 * time.Millisecond, NATs: []string{"nat"}, Backends: []string{"api"},
		Alarms:   []sampler.Alarm{{Name: "ports-80", Metric: "nat.port_utilization", Above: true, Threshold: 0.8}},
		OnSample: func(x sampler.Sample) { got <- x },
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx, time.Now()) }()

	first := make(chan loadgen.Counts, 1)
	go func() { first <- run(t, tb, hold(tgt, 220, 4*time.Second)) }()
	require.Eventually(t, func() bool { return s.Alarms()[0].Fired }, 3*time.Second, 20*time.Millisecond, "alarm at 80%% should fire with 220 of 256 ports held")
	s.Mark("storm: 100 more")
	more := run(t, tb, hold(tgt, 100, 1500*time.Millisecond))
	assert.Equal(t, uint64(36), more.Of(loadgen.OutcomeOK), "only 36 ports were left: %v", more.Outcomes)
	assert.Equal(t, uint64(64), more.Of(loadgen.OutcomeConnectTimeout), "%v", more.Outcomes)
	held := <-first
	assert.Equal(t, uint64(220), held.Of(loadgen.OutcomeOK))
	time.Sleep(300 * time.Millisecond)
	cancel()
	require.NoError(t, <-done)

	alarm := s.Alarms()[0]
	failAt, ok := s.FirstAllocationFailure()
	require.True(t, ok, "allocation failures must be seen")
	t.Logf("alarm fired at %v (utilization %.3f), first allocation failure at %v", alarm.FirstFired, alarm.Value, failAt)
	assert.Less(t, alarm.FirstFired, failAt, "the alarm warns before ports run out")
	assert.InDelta(t, 220.0/256, alarm.Value, 0.02)

	var peak float64
	var peakActive int64
	var lastFailures uint64
	for _, x := range s.Samples() {
		peak = max(peak, x.NATs[0].PortUtilization)
		peakActive = max(peakActive, x.Backends[0].Active)
		lastFailures = max(lastFailures, x.NATs[0].AllocationFailures)
		assert.Empty(t, x.NATs[0].Err)
		assert.True(t, x.NATs[0].IPForward)
	}
	assert.Equal(t, 1.0, peak, "port utilization reaches 1.0")
	assert.Equal(t, int64(256), peakActive, "the backend saw every port in use at once")
	assert.Positive(t, lastFailures)
	assert.NotEmpty(t, got)

	rows := s.Rows()
	require.Len(t, rows, 2*len(s.Samples()))
	var marked int
	for _, r := range rows {
		if r.Markers == "storm: 100 more" {
			marked++
			assert.Equal(t, "nat", r.Role)
		}
	}
	assert.Equal(t, 1, marked, "the marker appears once, on the first row after it")
	natIP := tb.Run.Layout.NATs[0].IPs[0].String()
	var ipPeak float64
	for _, u := range s.UtilizationRows() {
		if u.Scope == "ip" && u.Name == natIP {
			ipPeak = max(ipPeak, u.Utilization)
		}
	}
	assert.Equal(t, 1.0, ipPeak)
}
