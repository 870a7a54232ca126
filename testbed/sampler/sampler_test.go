package sampler_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/sampler"
	"github.com/natlab/natlab/testbed/service"
	tt "github.com/natlab/natlab/testbed/testbedtest"
)

func TestMain(m *testing.M) { tt.Main(m) }

var up = tt.Up

// hold keeps n connections open for d. Its connects get 2.5 s: SYNs
// racing for the last free ports on two CPUs can clash in conntrack (the
// loser is dropped and counted as insert_failed), and the loser's
// retransmit comes after the initial RTO of 1 s; a 1 s connect timeout
// turned such a clash into a timeout and 36 ok into 35. Retransmits come
// 1 s apart (tcp_syn_linear_timeouts=4: SYNs at 0, 1, 2 s within the
// 2.5 s), so a hold longer than 2.5 s frees none of its own ports to a
// connect still waiting.
func hold(target string, n int, d time.Duration) loadgen.Plan {
	p := tt.HoldPlan(target, n, d)
	p.ConnectTimeout = 2500 * time.Millisecond
	return p
}

func run(t testing.TB, tb *testbed.Testbed, plan loadgen.Plan) loadgen.Counts {
	t.Helper()
	return tt.Load(t, tb, "client", plan).Total.Counts
}

// A hold storm fills 256 NAT ports in two steps (220 held, then 100 more,
// held for longer than their connects may take, while the 220 still are):
// port utilization reaches 1.0, and the samples show 80% utilization a
// tick or more before the first allocation failure (what an 80% alarm on
// nat.port_utilization would fire on).
func TestUtilizationWarnsBeforeAllocationFailures(t *testing.T) {
	t.Parallel()
	tb := up(t, testbed.Spec{
		NATs:     []testbed.NATSpec{{IPs: 1, Ports: portrange.Range{First: 1024, Last: 1279}}},
		Clients:  []testbed.ClientSpec{{Name: "client", Addresses: 1}},
		Backends: []testbed.BackendSpec{{Name: "api", Protocol: service.TCPEcho, Port: 8080}},
	})
	be, _ := tb.Run.Layout.Backend("api")
	tgt := fmt.Sprintf("%s:%d", be.Addr, 8080)

	var got atomic.Int64
	var highSeen, failureSeen atomic.Bool
	s, err := sampler.New(tb, sampler.Options{
		Tick: 100 * time.Millisecond, NATs: []string{"nat"}, Backends: []string{"api"},
		OnSample: func(x sampler.Sample) {
			got.Add(1)
			if x.NATs[0].PortUtilization > 0.8 {
				highSeen.Store(true)
			}
			if x.NATs[0].AllocationFailures > 0 {
				failureSeen.Store(true)
			}
		},
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx, time.Now(), nil) }()

	// One dial at a time: with 220 SYNs at once two may pick the same free
	// port on two CPUs and the loser's insert fails, an allocation failure
	// in the metric before any port ran out.
	fill := hold(tgt, 220, 6*time.Second)
	fill.MaxInFlight = 1
	first := tt.LoadAsync(t, tb, "client", fill)
	require.Eventually(t, highSeen.Load, 3*time.Second, 20*time.Millisecond, "a sample should show > 80%% with 220 of 256 ports held")
	more := run(t, tb, hold(tgt, 100, 3500*time.Millisecond))
	assert.Equal(t, uint64(36), more.Of(loadgen.OutcomeOK), "only 36 ports were left: %v", more.Outcomes)
	assert.Equal(t, uint64(64), more.Of(loadgen.OutcomeConnectTimeout), "%v", more.Outcomes)
	held := first().Total.Counts
	assert.Equal(t, uint64(220), held.Of(loadgen.OutcomeOK))
	require.Eventually(t, failureSeen.Load, 3*time.Second, 20*time.Millisecond, "a sample should count the allocation failures")
	cancel()
	require.NoError(t, <-done)

	var warnAt, failAt time.Duration = -1, -1
	var warnValue, peak, ipPeak float64
	var peakActive int64
	natIP := tb.Run.Layout.NATs[0].IPs[0].String()
	samples := s.Samples()
	for _, x := range samples {
		n := x.NATs[0]
		if warnAt < 0 && n.PortUtilization > 0.8 {
			warnAt, warnValue = x.At, n.PortUtilization
		}
		if failAt < 0 && n.AllocationFailures > 0 {
			failAt = x.At
		}
		peak = max(peak, n.PortUtilization)
		ipPeak = max(ipPeak, n.IPUtilization[natIP])
		peakActive = max(peakActive, x.Backends[0].Active)
		assert.Empty(t, n.Err)
		assert.True(t, n.IPForward)
	}
	t.Logf("utilization %.3f at %v, first allocation failure at %v", warnValue, warnAt, failAt)
	require.GreaterOrEqual(t, failAt, time.Duration(0), "allocation failures must be seen")
	assert.Less(t, warnAt, failAt, "utilization warns before ports run out")
	// The first reading above 80% may land while some of the 220 are still
	// connecting, but before the next 100 start (they wait for it): above
	// 80% and at most 220 of 256, exactly.
	assert.LessOrEqual(t, warnValue, 220.0/256, "the first reading above 80%% shows no more than the 220 held")
	assert.Equal(t, 1.0, peak, "port utilization reaches 1.0")
	assert.Equal(t, 1.0, ipPeak, "the NAT IP's own utilization reaches 1.0")
	assert.Equal(t, int64(256), peakActive, "the backend saw every port in use at once")
	assert.Equal(t, int64(len(samples)), got.Load(), "OnSample saw every sample")
}
