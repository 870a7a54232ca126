package chaos_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/chaos"
	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natcfg"
	tt "github.com/natlab/natlab/testbed/testbedtest"
)

// A conntrack flush under steady pooled load through a narrowed port
// range: with tcp_loose=1 the next mid-stream packet gets a fresh mapping
// on another NAT port, the backend answers RST, the pooled connections
// are reset; new connections succeed. The flush reports what it removed.
func TestConntrackFlushResetsPooledConnections(t *testing.T) {
	t.Parallel()
	_, env := up(t, oneNAT(testbed.NATSpec{Ports: portrange.Range{First: 1024, Last: 1087}}))
	require.Equal(t, "1", sysctl(t, env, "nat", "net.netfilter.nf_conntrack_tcp_loose"))
	plan := loadgen.Plan{
		Target:         target(t, env, "api", 8080),
		Strategy:       loadgen.Strategy{Kind: loadgen.KindTCP, Pool: loadgen.PoolKeepAlive, PoolSize: 16},
		Phases:         phases(loadgen.Schedule{Kind: loadgen.ScheduleClosed, Concurrency: 16}, []string{"before", "flush", "after"}, time.Second, time.Second, 1500*time.Millisecond),
		ConnectTimeout: time.Second,
		RequestTimeout: time.Second,
	}
	f := newFault(t, env, "conntrack-flush", "nat", map[string]any{"destination": "api", "protocol": "tcp"})
	start := time.Now()
	wait := loadAsync(t, env, "client", plan)
	markers := runTimeline(t, env, start, chaos.Scheduled{Name: "flush", At: 1100 * time.Millisecond, Fault: f})
	r := wait()

	inject := markers[0]
	require.Equal(t, chaos.EventInject, inject.Event)
	require.Empty(t, inject.Err)
	removed, _ := inject.Report["removed"].(int)
	assert.GreaterOrEqual(t, removed, 16, "the 16 pooled flows were flushed: %v", inject.Report)
	assert.Contains(t, f.Describe(), "flush conntrack entries to api tcp on nat (removed")

	fl := phase(t, r, "flush").Counts
	resets := fl.Of(loadgen.OutcomeReset) + fl.Of(loadgen.OutcomeBrokenPipe) + fl.Of(loadgen.OutcomeClosed)
	t.Logf("flush phase: %s; %d connections reset", pretty(fl), resets)
	assert.Positive(t, resets, "existing connections are reset after the flush: %s", pretty(fl))
	b := phase(t, r, "before").Counts
	assert.Equal(t, b.Attempts, b.Of(loadgen.OutcomeOK), pretty(b))
	a := phase(t, r, "after").Counts
	assert.Greater(t, a.Of(loadgen.OutcomeOK), uint64(1000), "new connections succeed: %s", pretty(a))
	assert.LessOrEqual(t, a.Errors(), uint64(16), pretty(a))
	assert.Positive(t, r.Total.Counts.NewConns-16, "the pool had to reconnect")

	// A flush reverts nothing; Verify checks the NAT rules were untouched.
	ctx := context.Background()
	require.NoError(t, f.Verify(ctx, env))
	cfg := natCfg(t, env)
	cfg.PortSelection = natcfg.PortSelectionRandom
	require.NoError(t, env.Agent("nat").Call(ctx, wire.OpNATApply, cfg, nil))
	err := f.Verify(ctx, env)
	require.Error(t, err, "Verify must see the NAT rules changed")
	assert.Contains(t, err.Error(), "nat rules on nat differ")
}

func natCfg(t testing.TB, env chaos.Env) natcfg.Config {
	t.Helper()
	cfg, err := testbed.NATConfig(env.Spec(), env.Layout(), "nat")
	require.NoError(t, err)
	return cfg
}

// Shrinking the pool from 1,024 to 64 ports under 200 held connections
// leaves them alone, but new connections beyond the free ports time out
// and allocation failures rise; growing it back ends the failures.
func TestSNATShrinkAndGrow(t *testing.T) {
	t.Parallel()
	_, env := up(t, oneNAT(testbed.NATSpec{Ports: portrange.Range{First: 1024, Last: 2047}}))
	tgt := target(t, env, "api", 8080)
	hold := func(n int, d time.Duration) loadgen.Plan {
		return loadgen.Plan{Target: tgt, Strategy: loadgen.Strategy{Kind: loadgen.KindTCP},
			Phases:         []loadgen.Phase{{Name: "hold", Duration: d, Schedule: loadgen.Schedule{Kind: loadgen.ScheduleHold, Hold: n}}},
			ConnectTimeout: time.Second}
	}
	waitHeld := loadAsync(t, env, "client", hold(200, 6*time.Second))
	tt.WaitFor(t, 10*time.Second, func() bool { return natMetrics(t, env, "nat").ConntrackEntries >= 200 }, "the 200 held connections")

	f := newFault(t, env, "snat", "nat", map[string]any{"ports": "1024-1087"})
	assert.Equal(t, "change SNAT on nat: ports 1024-1087", f.Describe())
	ctx := context.Background()
	before := natMetrics(t, env, "nat")
	require.NoError(t, f.Inject(ctx, env))
	t.Cleanup(func() { _ = f.Revert(ctx, env) })

	shrunk := load(t, env, "client", hold(150, 1500*time.Millisecond)).Total.Counts
	t.Logf("150 new connections with 64 ports: %s", pretty(shrunk.Outcomes))
	assert.LessOrEqual(t, shrunk.Of(loadgen.OutcomeOK), uint64(64), pretty(shrunk))
	assert.GreaterOrEqual(t, shrunk.Of(loadgen.OutcomeConnectTimeout), uint64(150-64), pretty(shrunk))
	assert.Zero(t, shrunk.Of(loadgen.OutcomeRefused))
	during := natMetrics(t, env, "nat")
	assert.Greater(t, during.AllocationFailures, before.AllocationFailures, "allocation failures rise")

	require.NoError(t, f.Revert(ctx, env))
	require.NoError(t, f.Verify(ctx, env))
	// Concurrent SYNs may still race for one free port and one loses the
	// conntrack insert (a clash, counted as a failure); its SYN retransmit
	// a second later gets through, so allow the connect time for one.
	regrow := hold(150, time.Second)
	regrow.ConnectTimeout = 2500 * time.Millisecond
	grown := load(t, env, "client", regrow).Total.Counts
	assert.Equal(t, uint64(150), grown.Of(loadgen.OutcomeOK), "grown back, every connection succeeds: %s", pretty(grown))
	after := natMetrics(t, env, "nat")
	assert.LessOrEqual(t, after.AllocationFailures-during.AllocationFailures, uint64(3),
		"grown back, allocation failures stop (but for the odd clash): %d during the shrink, %d after",
		during.AllocationFailures-before.AllocationFailures, after.AllocationFailures-during.AllocationFailures)

	held := waitHeld().Total.Counts
	assert.Equal(t, uint64(200), held.Of(loadgen.OutcomeOK), pretty(held))
	assert.Zero(t, held.Lost, "a live pool change leaves established flows alone")

	cfg := natCfg(t, env)
	cfg.Pools[0].Ports = portrange.Range{First: 1024, Last: 1500}
	require.NoError(t, env.Agent("nat").Call(ctx, wire.OpNATApply, cfg, nil))
	require.Error(t, f.Verify(ctx, env), "Verify must see the port range changed behind its back")
}

// 30% of forwarded packets dropped: connects take SYN retransmits (1 s
// and more) without refusals or resets; revert removes the table.
func TestDropPercentSlowsConnects(t *testing.T) {
	t.Parallel()
	_, env := up(t, oneNAT(testbed.NATSpec{}))
	plan := loadgen.Plan{
		Target:         target(t, env, "api", 8080),
		Strategy:       loadgen.Strategy{Kind: loadgen.KindTCP},
		Phases:         phases(loadgen.Schedule{Kind: loadgen.ScheduleOpen, Rate: loadgen.RatePerSecond(40)}, []string{"clean", "lossy"}, 1500*time.Millisecond, 3*time.Second),
		ConnectTimeout: 4 * time.Second,
		RequestTimeout: 4 * time.Second,
	}
	f := newFault(t, env, "drop", "nat", map[string]any{"percent": 30})
	start := time.Now()
	wait := loadAsync(t, env, "client", plan)
	markers := runTimeline(t, env, start, chaos.Scheduled{Name: "loss", At: 1500 * time.Millisecond, For: 3 * time.Second, Fault: f})
	r := wait()

	clean, lossy := phase(t, r, "clean"), phase(t, r, "lossy")
	t.Logf("clean connect p99 %v; lossy connect p50 %v p90 %v max %v; lossy outcomes %s",
		clean.Connect.Quantile(0.99), lossy.Connect.Quantile(0.50),
		lossy.Connect.Quantile(0.90), lossy.Connect.Max(), pretty(lossy.Counts.Outcomes))
	assert.Less(t, clean.Connect.Quantile(0.99), 200*time.Millisecond)
	assert.GreaterOrEqual(t, lossy.Connect.Quantile(0.90), 900*time.Millisecond, "SYN retransmits show in the connect latency")
	c := lossy.Counts
	assert.Zero(t, c.Of(loadgen.OutcomeRefused)+c.Of(loadgen.OutcomeReset)+c.Of(loadgen.OutcomeUnreachable), pretty(c))
	assert.Greater(t, float64(c.Of(loadgen.OutcomeOK)), 0.7*float64(c.Attempts), "most attempts still succeed: %s", pretty(c))

	last := markers[len(markers)-1]
	assert.Equal(t, chaos.EventVerify, last.Event)
	assert.Empty(t, last.Err)
	dropped, _ := markers[1].Report["dropped_packets"].(uint64)
	assert.Positive(t, dropped, "the drop rule counted packets: %v", markers[1].Report)

	// After the revert traffic is clean again.
	after := load(t, env, "client", loadgen.Plan{Target: plan.Target, Strategy: plan.Strategy,
		Phases: []loadgen.Phase{{Name: "p", Duration: time.Second, Schedule: plan.Phases[0].Schedule}}})
	assert.Less(t, after.Total.Connect.Quantile(0.99), 200*time.Millisecond)

	// Tamper: leave a drop rule of another fault behind.
	other := newFault(t, env, "drop", "nat", map[string]any{"blackhole": "198.19.250.0/24"})
	ctx := context.Background()
	require.NoError(t, other.Inject(ctx, env))
	err := f.Verify(ctx, env)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "natlab_chaos on nat differs")
	require.NoError(t, other.Revert(ctx, env))
	require.NoError(t, f.Verify(ctx, env))
}

// A blackholed backend: every connect times out; revert: they succeed.
func TestDropBlackhole(t *testing.T) {
	t.Parallel()
	_, env := up(t, oneNAT(testbed.NATSpec{}))
	plan := tt.OpenPlan(target(t, env, "api", 8080), loadgen.Strategy{Kind: loadgen.KindTCP}, 20, time.Second)
	plan.ConnectTimeout = 500 * time.Millisecond
	f := newFault(t, env, "drop", "nat", map[string]any{"blackhole": "api"})
	ctx := context.Background()
	require.NoError(t, f.Inject(ctx, env))
	t.Cleanup(func() { _ = f.Revert(ctx, env) })
	c := load(t, env, "client", plan).Total.Counts
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeConnectTimeout), pretty(c))
	require.NoError(t, f.Revert(ctx, env))
	require.NoError(t, f.Verify(ctx, env))
	c = load(t, env, "client", plan).Total.Counts
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK), pretty(c))
}

// wan0 down on the NAT: nothing gets through; up again: all is well, and
// Verify sees a link taken down behind its back.
func TestLinkDownOnNAT(t *testing.T) {
	t.Parallel()
	_, env := up(t, oneNAT(testbed.NATSpec{}))
	plan := tt.OpenPlan(target(t, env, "api", 8080), loadgen.Strategy{Kind: loadgen.KindTCP}, 20, time.Second)
	plan.ConnectTimeout = 500 * time.Millisecond
	f := newFault(t, env, "link", "nat", nil)
	ctx := context.Background()
	require.NoError(t, f.Inject(ctx, env))
	t.Cleanup(func() { _ = f.Revert(ctx, env) })
	assert.Equal(t, "take wan0 down on nat", f.Describe())
	c := load(t, env, "client", plan).Total.Counts
	t.Logf("wan0 down: %s", pretty(c.Outcomes))
	assert.Zero(t, c.Of(loadgen.OutcomeOK), pretty(c))
	require.NoError(t, f.Revert(ctx, env))
	require.NoError(t, f.Verify(ctx, env))
	c = load(t, env, "client", plan).Total.Counts
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK), pretty(c))

	require.NoError(t, env.Agent("nat").Call(ctx, wire.OpLinkSet, wire.LinkState{Interface: "wan0"}, nil))
	err := f.Verify(ctx, env)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "wan0 on nat is up=false, was up=true")
	require.NoError(t, env.Agent("nat").Call(ctx, wire.OpLinkSet, wire.LinkState{Interface: "wan0", Up: true}, nil))

	// A client's only interface carries its routes: refused before any
	// inject, by the role of the host.
	_, err = chaos.New("link", "client", env.Spec(), nil)
	require.ErrorContains(t, err, `host: "client" is a client host; link applies to a NAT box or a backend: nat, api`)
}
