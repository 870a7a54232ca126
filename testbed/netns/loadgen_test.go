package netns_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natcfg"
	"github.com/natlab/natlab/testbed/service"
	tt "github.com/natlab/natlab/testbed/testbedtest"
)

// openPlan is an open schedule with room for one SYN retransmit.
func openPlan(tgt string, st loadgen.Strategy, rate int, d time.Duration) loadgen.Plan {
	p := tt.OpenPlan(tgt, st, rate, d)
	p.ConnectTimeout, p.RequestTimeout = 2*time.Second, 3*time.Second
	return p
}

// Against a managed NAT of 256 ports holding them 120 s after close, an
// unpooled storm of 400 requests/s (1,200 in 3 s, well past the 256
// ports) gets connect timeouts; the same schedule through a keep-alive
// pool of 32 gets none. The rate leaves the pool room: 32 connections
// serve 400/s as long as a request takes under 80 ms, which holds even
// under -race with the suite's parallel packages on two cores (at
// 1,000/s it did not: requests queued for the pool and timed out).
func TestUnpooledStormVersusKeepAlivePool(t *testing.T) {
	t.Parallel()
	spec := oneNAT(testbed.NATSpec{Mode: testbed.ModeManaged, Hold: 120 * time.Second})
	spec.Clients[0].Addresses = 50
	spec.Backends = []testbed.BackendSpec{{Name: "api", Protocol: service.HTTP1, Port: 8080}}
	tb := up(t, spec)
	tgt := target(t, tb, "api", 8080)
	src := sources(tb, "client")
	const rate, arrivals = 400, 1200

	pooled := openPlan(tgt, loadgen.Strategy{Kind: loadgen.KindHTTP1, Pool: loadgen.PoolKeepAlive, PoolSize: 32}, rate, 3*time.Second)
	pooled.Sources = src
	p := load(t, tb, "client", pooled).Total.Counts
	// An open schedule sends exactly rate x duration arrivals.
	assert.Equal(t, uint64(arrivals), p.Attempts, pretty(p))
	assert.Equal(t, p.Attempts, p.Of(loadgen.OutcomeOK), pretty(p))
	// A bound, not a count: an open schedule needs only as many
	// connections as requests are in flight at once (400/s times the
	// latency), so the pool opens what the machine's pace asks for, up to
	// its 32. TestPoolsOpenWhatTheySay fills a pool and counts it exactly.
	assert.LessOrEqual(t, p.NewConns, uint64(32), "a pool of 32 opens at most 32 connections")
	assert.Equal(t, p.NewConns, backendStats(t, tb, "api")[0].Accepted, "each connection the pool opened reached the backend")

	storm := openPlan(tgt, loadgen.Strategy{Kind: loadgen.KindHTTP1, Pool: loadgen.PoolNone}, rate, 3*time.Second)
	storm.Sources = src
	s := load(t, tb, "client", storm).Total.Counts
	assert.Equal(t, uint64(arrivals), s.Attempts, pretty(s))
	ok := s.Of(loadgen.OutcomeOK)
	assert.Equal(t, s.Attempts-ok, s.Of(loadgen.OutcomeConnectTimeout), "every other attempt is a silent drop: %s", pretty(s))
	// The pool's ports are held too now: at most the rest can succeed,
	// and each success holds one more (a failure's SYN never left).
	assert.LessOrEqual(t, ok, 256-p.NewConns, pretty(s))
	assert.Equal(t, uint64(natMetrics(t, tb, "nat").HeldPorts), p.NewConns+ok, "one held port per closed connection")
}

// Every outcome class is produced for real through the NAT and classified
// right.
func TestOutcomeClassesThroughTheNAT(t *testing.T) {
	t.Parallel()
	spec := oneNAT(testbed.NATSpec{})
	spec.Backends = []testbed.BackendSpec{
		{Name: "api", Protocol: service.HTTP1, Port: 8080},
		{Name: "echo", Protocol: service.TCPEcho, Port: 9000},
	}
	tb := up(t, spec)
	tcp := loadgen.Strategy{Kind: loadgen.KindTCP}
	only := func(t *testing.T, c loadgen.Counts, want loadgen.Outcome) {
		t.Helper()
		assert.Positive(t, c.Of(want), pretty(c))
		assert.Equal(t, c.Attempts, c.Of(want), "every attempt must be %s: %s", want, pretty(c))
	}

	t.Run("refused", func(t *testing.T) {
		only(t, load(t, tb, "client", openPlan(target(t, tb, "echo", 9999), tcp, 20, time.Second)).Total.Counts, loadgen.OutcomeRefused)
	})
	t.Run("http 5xx", func(t *testing.T) {
		st := loadgen.Strategy{Kind: loadgen.KindHTTP1, Path: "/status/503"}
		only(t, load(t, tb, "client", openPlan(target(t, tb, "api", 8080), st, 20, time.Second)).Total.Counts, loadgen.OutcomeHTTP5xx)
	})
	t.Run("reset", func(t *testing.T) {
		on, off := true, false
		require.NoError(t, tb.Agent("echo").Call(context.Background(), wire.OpBackendControl, wire.BackendControl{Reset: &on}, nil))
		c := load(t, tb, "client", openPlan(target(t, tb, "echo", 9000), tcp, 20, time.Second)).Total.Counts
		require.NoError(t, tb.Agent("echo").Call(context.Background(), wire.OpBackendControl, wire.BackendControl{Reset: &off}, nil))
		only(t, c, loadgen.OutcomeReset)
	})
	t.Run("address not available", func(t *testing.T) {
		// Four client ports, unpooled, no linger: TIME_WAIT uses them up.
		st := loadgen.Strategy{Kind: loadgen.KindTCP, LocalPorts: "40000-40003"}
		c := load(t, tb, "client", openPlan(target(t, tb, "echo", 9000), st, 200, time.Second)).Total.Counts
		// Each port serves once, then waits in TIME_WAIT on the client
		// (it closed first): no subtest before this one closes a
		// connection to echo from the client first.
		assert.Equal(t, uint64(4), c.Of(loadgen.OutcomeOK), pretty(c))
		assert.Equal(t, c.Attempts-c.Of(loadgen.OutcomeOK), c.Of(loadgen.OutcomeAddrNotAvail), pretty(c))
	})
	t.Run("connect timeout", func(t *testing.T) {
		// ip_forward off: the NAT drops silently.
		require.NoError(t, setSysctl(t, tb, "nat", "net.ipv4.ip_forward", "0"))
		c := load(t, tb, "client", openPlan(target(t, tb, "echo", 9000), tcp, 20, time.Second)).Total.Counts
		require.NoError(t, setSysctl(t, tb, "nat", "net.ipv4.ip_forward", "1"))
		only(t, c, loadgen.OutcomeConnectTimeout)
	})
}

// A keep-alive pool of N opens at most N connections and h2c opens one,
// as the backend's own accepted-connection counter shows.
func TestPoolsOpenWhatTheySay(t *testing.T) {
	t.Parallel()
	spec := oneNAT(testbed.NATSpec{})
	spec.Backends = []testbed.BackendSpec{
		{Name: "web", Protocol: service.HTTP1, Port: 8080},
		{Name: "grpcish", Protocol: service.H2C, Port: 8443},
	}
	tb := up(t, spec)
	closed := func(tgt string, st loadgen.Strategy) loadgen.Plan {
		return loadgen.Plan{Target: tgt, Strategy: st,
			Phases: []loadgen.Phase{{Name: "p", Duration: 2 * time.Second, Schedule: loadgen.Schedule{Kind: loadgen.ScheduleClosed, Concurrency: 64}}}}
	}
	k := load(t, tb, "client", closed(target(t, tb, "web", 8080), loadgen.Strategy{Kind: loadgen.KindHTTP1, Pool: loadgen.PoolKeepAlive, PoolSize: 8})).Total.Counts
	h := load(t, tb, "client", closed(target(t, tb, "grpcish", 8443), loadgen.Strategy{Kind: loadgen.KindH2C})).Total.Counts
	// How many requests fit 2 s is the machine's pace; that all of them
	// succeed is not.
	require.Positive(t, k.Attempts)
	require.Equal(t, k.Attempts, k.Of(loadgen.OutcomeOK), pretty(k))
	require.Positive(t, h.Attempts)
	require.Equal(t, h.Attempts, h.Of(loadgen.OutcomeOK), pretty(h))
	// 64 workers want a connection at once: the pool opens all of its 8,
	// and not one more.
	web := backendStats(t, tb, "web")[0]
	assert.Equal(t, uint64(8), web.Accepted, "keep-alive pool of 8")
	assert.Equal(t, uint64(8), k.NewConns, "keep-alive pool of 8")
	assert.Equal(t, k.Of(loadgen.OutcomeOK), web.Requests)
	assert.Equal(t, uint64(1), backendStats(t, tb, "grpcish")[0].Accepted, "h2c multiplexes over one connection")
	assert.Equal(t, uint64(1), h.NewConns, "h2c multiplexes over one connection")
}

// An open schedule at a fixed rate against a backend that stalls 2 s once
// reports the stall in p99: latency is measured from the intended send
// time, so a stall is not hidden as fewer samples.
func TestStallShowsInP99(t *testing.T) {
	t.Parallel()
	spec := oneNAT(testbed.NATSpec{})
	spec.Backends = []testbed.BackendSpec{{Name: "api", Protocol: service.HTTP1, Port: 8080}}
	tb := up(t, spec)
	plan := openPlan(target(t, tb, "api", 8080), loadgen.Strategy{Kind: loadgen.KindHTTP1, Pool: loadgen.PoolKeepAlive, PoolSize: 4}, 100, 6*time.Second)
	wait := tt.LoadAsync(t, tb, "client", plan)
	// Stall once the load is under way (the backend has answered a
	// second's worth), not after a sleep.
	tt.WaitFor(t, 10*time.Second, func() bool { return backendStats(t, tb, "api")[0].Requests >= 100 }, "the load under way")
	d := "2s"
	require.NoError(t, tb.Agent("api").Call(context.Background(), wire.OpBackendControl, wire.BackendControl{StallFor: &d}, nil))
	res := wait()
	c := res.Total.Counts
	// No coordinated omission: the arrivals due during the stall are sent
	// (or wait for a pooled connection) on time, all 600 of them.
	assert.Equal(t, uint64(600), c.Attempts, pretty(c))
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK), pretty(c))
	// Measured from the intended send time, the request due when the stall
	// began waited all of its 2 s, and those of its first half 1 s and
	// more: some 100 of 600, far more than 1%. A lower bound, which a slow
	// machine only raises.
	assert.GreaterOrEqual(t, res.Total.Request.Quantile(0.99), 1500*time.Millisecond, "p99 must show the 2 s stall")
}

// A load stopped early still accounts for every attempt exactly.
func TestEarlyStopKeepsExactAccounting(t *testing.T) {
	t.Parallel()
	spec := oneNAT(testbed.NATSpec{})
	tb := up(t, spec)
	plan := openPlan(target(t, tb, "api", 8080), loadgen.Strategy{Kind: loadgen.KindTCP}, 300, 30*time.Second)
	wait := tt.LoadAsync(t, tb, "client", plan)
	tt.WaitFor(t, 10*time.Second, func() bool { return backendStats(t, tb, "api")[0].Accepted >= 300 }, "the load under way")
	var stopped int
	require.NoError(t, tb.Agent("client").Call(context.Background(), wire.OpLoadStop, nil, &stopped))
	assert.Equal(t, 1, stopped, "load.stop ends the one running load")
	res := wait() // checks Attempts == sum(outcomes), none in flight
	c := res.Total.Counts
	// Stopped early: fewer than the 9,000 arrivals of the full 30 s, at
	// least the 300 the backend had seen, every one accounted for.
	assert.Less(t, c.Attempts, uint64(9000), "load.stop must end the run early")
	assert.GreaterOrEqual(t, c.Attempts, uint64(300))
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK)+c.Of(loadgen.OutcomeCancelled), pretty(c))
}

func setSysctl(t *testing.T, tb *testbed.Testbed, host, key, value string) error {
	t.Helper()
	return tb.Agent(host).Call(context.Background(), wire.OpSysctlSet, []natcfg.Sysctl{{Key: key, Value: value}}, nil)
}
