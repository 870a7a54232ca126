package chaos_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/chaos"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
	tt "github.com/natlab/natlab/testbed/testbedtest"
)

// ip_forward=0 on the NAT: new flows time out and pooled flows stall
// (read timeouts), never a refusal or an ICMP error; after the revert
// both resume, the sysctl is 1 again and Verify proves it. Setting it
// behind the fault's back makes Verify name the key.
func TestSysctlIPForwardOffStallsTraffic(t *testing.T) {
	t.Parallel()
	_, env := up(t, oneNAT(testbed.NATSpec{}))
	tgt := target(t, env, "api", 8080)
	names := []string{"before", "fault", "after"}
	unpooled := loadgen.Plan{
		Target:         tgt,
		Strategy:       loadgen.Strategy{Kind: loadgen.KindTCP},
		Phases:         phases(loadgen.Schedule{Kind: loadgen.ScheduleOpen, Rate: loadgen.RatePerSecond(40)}, names, 1500*time.Millisecond, 2*time.Second, 2500*time.Millisecond),
		ConnectTimeout: time.Second,
		RequestTimeout: time.Second,
	}
	pooled := loadgen.Plan{
		Target:         tgt,
		Strategy:       loadgen.Strategy{Kind: loadgen.KindTCP, Pool: loadgen.PoolKeepAlive, PoolSize: 4},
		Phases:         phases(loadgen.Schedule{Kind: loadgen.ScheduleClosed, Concurrency: 4}, names, 1500*time.Millisecond, 2*time.Second, 2500*time.Millisecond),
		ConnectTimeout: time.Second,
		RequestTimeout: time.Second,
	}
	f := newFault(t, env, "sysctl", "nat", map[string]any{"set": map[string]any{"net.ipv4.ip_forward": 0}})
	assert.Equal(t, "set net.ipv4.ip_forward=0 on nat", f.Describe())

	start := time.Now()
	waitU := loadAsync(t, env, "client", unpooled)
	waitP := loadAsync(t, env, "client", pooled)
	markers := runTimeline(t, env, start, chaos.Scheduled{Name: "fwd-off", At: 1500 * time.Millisecond, For: 2 * time.Second, Fault: f})
	u, p := waitU(), waitP()

	require.Len(t, markers, 3, pretty(markers))
	for _, m := range markers {
		assert.Empty(t, m.Err, "%s failed", m.Event)
	}
	assert.InDelta(t, 1.5, markers[0].At.Seconds(), 0.5, "inject on time")
	assert.InDelta(t, 3.5, markers[1].At.Seconds(), 0.5, "revert on time")

	for _, r := range []*loadgen.Result{u, p} {
		c := r.Total.Counts
		assert.Zero(t, c.Of(loadgen.OutcomeRefused)+c.Of(loadgen.OutcomeUnreachable)+c.Of(loadgen.OutcomeReset), "forwarding off is a silent drop: %s", pretty(c))
		// Attempts started just before the inject may end in the fault:
		// at most one per connection.
		b := phase(t, r, "before").Counts
		assert.LessOrEqual(t, b.Errors(), uint64(4), "before the fault all is well: %s", pretty(b))
	}
	uf := phase(t, u, "fault").Counts
	assert.GreaterOrEqual(t, uf.Of(loadgen.OutcomeConnectTimeout), uint64(50), "new flows stall: %s", pretty(uf))
	pf := phase(t, p, "fault").Counts
	assert.Positive(t, pf.Of(loadgen.OutcomeReadTimeout)+pf.Of(loadgen.OutcomeConnectTimeout), "pooled flows stall: %s", pretty(pf))
	ua, pa := phase(t, u, "after").Counts, phase(t, p, "after").Counts
	assert.GreaterOrEqual(t, ua.Of(loadgen.OutcomeOK), uint64(80), "new flows resume: %s", pretty(ua))
	assert.Greater(t, pa.Of(loadgen.OutcomeOK), 10*(pa.Errors()+1), "pooled flows resume: %s", pretty(pa))
	t.Logf("fault phase: unpooled %s pooled %s", pretty(uf.Outcomes), pretty(pf.Outcomes))

	assert.Equal(t, "1", sysctl(t, env, "nat", "net.ipv4.ip_forward"))
	ctx := context.Background()
	require.NoError(t, f.Verify(ctx, env))
	setSysctl(t, env, "nat", "net.ipv4.ip_forward", "0")
	err := f.Verify(ctx, env)
	require.Error(t, err, "Verify must see the sysctl changed behind its back")
	assert.Contains(t, err.Error(), `net.ipv4.ip_forward on nat is "0", was "1"`)
	setSysctl(t, env, "nat", "net.ipv4.ip_forward", "1")
}

// conntrack-timeouts sets the nf_conntrack sysctls and restores them;
// with udp: 1s the NAT forgets finished UDP flows within two seconds.
func TestConntrackTimeouts(t *testing.T) {
	t.Parallel()
	_, env := up(t, oneNAT(testbed.NATSpec{}, testbed.BackendSpec{Name: "dns", Protocol: "udp-echo", Port: 5353}))
	const key = "net.netfilter.nf_conntrack_udp_timeout"
	const twKey = "net.netfilter.nf_conntrack_tcp_timeout_time_wait"
	was, twWas := sysctl(t, env, "nat", key), sysctl(t, env, "nat", twKey)
	f := newFault(t, env, "conntrack-timeouts", "nat", map[string]any{"udp": "1s", "tcp_time_wait": 7})
	ctx := context.Background()
	require.NoError(t, f.Inject(ctx, env))
	t.Cleanup(func() { _ = f.Revert(ctx, env) })
	assert.Equal(t, "1", sysctl(t, env, "nat", key))
	assert.Equal(t, "7", sysctl(t, env, "nat", twKey))

	udp := tt.OpenPlan(target(t, env, "dns", 5353), loadgen.Strategy{Kind: loadgen.KindUDP}, 100, time.Second)
	r := load(t, env, "client", udp)
	require.Equal(t, r.Total.Counts.Attempts, r.Total.Counts.Of(loadgen.OutcomeOK), pretty(r.Total.Counts))
	tt.WaitFor(t, 10*time.Second, func() bool { return natMetrics(t, env, "nat").ConntrackEntries < 5 },
		"with a 1 s udp timeout the ~100 finished flows leave conntrack")

	require.NoError(t, f.Revert(ctx, env))
	require.NoError(t, f.Verify(ctx, env))
	assert.Equal(t, was, sysctl(t, env, "nat", key))
	assert.Equal(t, twWas, sysctl(t, env, "nat", twKey))
	r = load(t, env, "client", udp)
	require.Equal(t, r.Total.Counts.Attempts, r.Total.Counts.Of(loadgen.OutcomeOK))
	time.Sleep(2 * time.Second)
	assert.Greater(t, natMetrics(t, env, "nat").ConntrackEntries, 80, "back at %ss the flows stay", was)

	setSysctl(t, env, "nat", twKey, "9")
	err := f.Verify(ctx, env)
	require.Error(t, err)
	assert.Contains(t, err.Error(), twKey)
}
