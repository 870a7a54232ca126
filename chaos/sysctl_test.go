package chaos_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
	tt "github.com/natlab/natlab/testbed/testbedtest"
)

// ip_forward=0 on the NAT: new flows time out and pooled flows stall
// (read timeouts), never a refusal or an ICMP error; after the revert
// both work again, the sysctl is 1 again and Verify proves it. Setting it
// behind the fault's back makes Verify name the key. The loads are timed
// by the fault, not the fault by the clock: each load runs wholly before,
// during or after it.
func TestSysctlIPForwardOffStallsTraffic(t *testing.T) {
	t.Parallel()
	_, env := up(t, oneNAT(testbed.NATSpec{}))
	tgt := target(t, env, "api", 8080)
	ctx := context.Background()
	unpooled := tt.OpenPlan(tgt, loadgen.Strategy{Kind: loadgen.KindTCP}, 40, 1500*time.Millisecond)
	unpooled.ConnectTimeout, unpooled.RequestTimeout = time.Second, time.Second
	pooled := func(d time.Duration) loadgen.Plan {
		return loadgen.Plan{
			Target:         tgt,
			Strategy:       loadgen.Strategy{Kind: loadgen.KindTCP, Pool: loadgen.PoolKeepAlive, PoolSize: 4},
			Phases:         []loadgen.Phase{{Name: "p", Duration: d, Schedule: loadgen.Schedule{Kind: loadgen.ScheduleClosed, Concurrency: 4}}},
			ConnectTimeout: time.Second,
			RequestTimeout: time.Second,
		}
	}
	allOK := func(what string, c loadgen.Counts) {
		t.Helper()
		assert.Positive(t, c.Attempts, what)
		assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK), "%s: %s", what, pretty(c))
	}
	f := newFault(t, env, "sysctl", "nat", map[string]any{"set": map[string]any{"net.ipv4.ip_forward": 0}})
	assert.Equal(t, "set net.ipv4.ip_forward=0 on nat", f.Describe())

	allOK("unpooled before the fault", load(t, env, "client", unpooled).Total.Counts)
	allOK("pooled before the fault", load(t, env, "client", pooled(time.Second)).Total.Counts)

	// A pool of 4 busy through the fault, stopped once it is over. It is
	// up once the backend accepted its 4 connections (counting open ones
	// could see the last load's, not yet closed on the backend's side).
	accepted := tt.BackendStats(t, env, "api")[0].Accepted
	waitPool := loadAsync(t, env, "client", pooled(time.Minute))
	tt.WaitFor(t, 10*time.Second, func() bool { return tt.BackendStats(t, env, "api")[0].Accepted == accepted+4 }, "the pool's 4 connections")
	require.NoError(t, f.Inject(ctx, env))
	t.Cleanup(func() { _ = f.Revert(ctx, env) })
	// The fault lasts as long as this load, over 1 s more than the pool's
	// request timeout: every pooled request in flight at the inject, one
	// per connection, times out before the revert.
	during := load(t, env, "client", unpooled).Total.Counts
	assert.Equal(t, during.Attempts, during.Of(loadgen.OutcomeConnectTimeout), "new flows stall: %s", pretty(during))
	require.NoError(t, f.Revert(ctx, env))
	require.NoError(t, f.Verify(ctx, env))

	allOK("unpooled after the fault", load(t, env, "client", unpooled).Total.Counts)
	allOK("pooled after the fault", load(t, env, "client", pooled(time.Second)).Total.Counts)
	require.NoError(t, env.Agent("client").Call(ctx, wire.OpLoadStop, nil, nil), "end the pool that ran through the fault")
	p := waitPool().Total.Counts
	t.Logf("pool through the fault: %s", pretty(p.Outcomes))
	assert.Equal(t, uint64(4), p.Of(loadgen.OutcomeReadTimeout), "each pooled connection stalls once: %s", pretty(p))
	// Its redials fail until the revert (connects time out); the requests
	// in flight when the load was stopped end as cancelled, at most one per
	// connection. Nothing is refused, reset or unreachable: a silent drop.
	assert.Equal(t, p.Attempts, p.Of(loadgen.OutcomeOK)+p.Of(loadgen.OutcomeReadTimeout)+p.Of(loadgen.OutcomeConnectTimeout)+p.Of(loadgen.OutcomeCancelled), pretty(p))
	assert.LessOrEqual(t, p.Of(loadgen.OutcomeCancelled), uint64(4), pretty(p))

	assert.Equal(t, "1", sysctl(t, env, "nat", "net.ipv4.ip_forward"))
	setSysctl(t, env, "nat", "net.ipv4.ip_forward", "0")
	err := f.Verify(ctx, env)
	require.Error(t, err, "Verify must see the sysctl changed behind its back")
	assert.Contains(t, err.Error(), `net.ipv4.ip_forward on nat is "0", was "1"`)
	setSysctl(t, env, "nat", "net.ipv4.ip_forward", "1")
}

// A revert that skipped one of the keys is caught: the fault sets two,
// and after its revert one is set back behind its back, as a revert that
// forgot it would leave it. Verify names that key, and only that one.
func TestSysctlVerifyNamesAKeyTheRevertSkipped(t *testing.T) {
	t.Parallel()
	_, env := up(t, oneNAT(testbed.NATSpec{}))
	const fwd, tw = "net.ipv4.ip_forward", "net.netfilter.nf_conntrack_tcp_timeout_time_wait"
	twWas := sysctl(t, env, "nat", tw)
	require.NotEqual(t, "7", twWas)
	f := newFault(t, env, "sysctl", "nat", map[string]any{"set": map[string]any{fwd: 0, tw: 7}})
	ctx := context.Background()
	require.NoError(t, f.Inject(ctx, env))
	t.Cleanup(func() { _ = f.Revert(ctx, env) })
	assert.Equal(t, "0", sysctl(t, env, "nat", fwd))
	assert.Equal(t, "7", sysctl(t, env, "nat", tw))
	require.NoError(t, f.Revert(ctx, env))
	require.NoError(t, f.Verify(ctx, env), "a full revert restores both")

	setSysctl(t, env, "nat", tw, "7")
	err := f.Verify(ctx, env)
	require.Error(t, err, "Verify must see the key the revert left changed")
	assert.Contains(t, err.Error(), fmt.Sprintf(`%s on nat is "7", was %q`, tw, twWas))
	assert.NotContains(t, err.Error(), fwd, "the key that was restored is not named")
	setSysctl(t, env, "nat", tw, twWas)
	require.NoError(t, f.Verify(ctx, env))
}

// conntrack-timeouts sets the nf_conntrack sysctls and restores them;
// with udp: 1s the NAT forgets finished UDP flows within two seconds.
func TestConntrackTimeouts(t *testing.T) {
	t.Parallel()
	tb, env := up(t, oneNAT(testbed.NATSpec{}, testbed.BackendSpec{Name: "dns", Protocol: "udp-echo", Port: 5353}))
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
	// Back at the old timeout, the new flows' entries carry it: conntrack
	// shows each entry's time left, no waiting needed.
	dns, _ := env.Layout().Backend("dns")
	flows, err := natConntrack(t, tb).Dump(nil)
	require.NoError(t, err)
	wasSecs, err := strconv.Atoi(was)
	require.NoError(t, err)
	n := 0
	for _, fl := range flows {
		if fl.TupleOrig.IP.DestinationAddress == dns.Addr && fl.TupleOrig.Proto.Protocol == unix.IPPROTO_UDP {
			n++
			assert.Greater(t, fl.Timeout, uint32(1), "an entry made after the revert lives longer than the fault's 1 s")
			assert.LessOrEqual(t, fl.Timeout, uint32(wasSecs), "and no longer than %ss", was)
		}
	}
	// At most one entry per flow: two flows share one when the kernel
	// gives the second the ephemeral port the first had just freed.
	assert.Positive(t, n, "back at %ss the flows stay", was)
	assert.LessOrEqual(t, n, int(r.Total.Counts.Attempts))

	setSysctl(t, env, "nat", twKey, "9")
	err = f.Verify(ctx, env)
	require.Error(t, err)
	assert.Contains(t, err.Error(), twKey)
}
