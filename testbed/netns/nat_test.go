package netns_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natcfg"
	"github.com/natlab/natlab/testbed/service"
	tt "github.com/natlab/natlab/testbed/testbedtest"
)

// The backend sees the NAT IP as the source, with a port in the range.
func TestClientReachesBackendThroughNAT(t *testing.T) {
	t.Parallel()
	tb := up(t, oneNAT(testbed.NATSpec{}))
	res := load(t, tb, "client", tt.OpenPlan(target(t, tb, "api", 8080), loadgen.Strategy{Kind: loadgen.KindTCP}, 50, time.Second))
	// An open schedule sends exactly rate x duration arrivals.
	require.Equal(t, uint64(50), res.Total.Counts.Attempts, pretty(res.Total.Counts))
	require.Equal(t, res.Total.Counts.Attempts, res.Total.Counts.Of(loadgen.OutcomeOK), pretty(res.Total.Counts))

	natIP := tb.Run.Layout.NATs[0].IPs[0]
	st := backendStats(t, tb, "api")[0]
	assert.Equal(t, []string{natIP.String()}, st.Peers.IPs, "backend must see only the NAT IP")
	assert.GreaterOrEqual(t, st.Peers.MinPort, ports256.First)
	assert.LessOrEqual(t, st.Peers.MaxPort, ports256.Last)
	assert.Equal(t, res.Total.Counts.Attempts, st.Accepted)
}

// 300 held connections through 256 ports to one destination: exactly 256
// connect, 44 time out (a silent drop), allocation failures rise. Spread
// over two destination ports, all 300 connect: ports are per destination.
func TestPortExhaustionIsPerDestination(t *testing.T) {
	t.Parallel()
	tb := up(t, oneNAT(testbed.NATSpec{}))
	before := natMetrics(t, tb, "nat")

	res := load(t, tb, "client", holdPlan(target(t, tb, "api", 8080), 300, 5*time.Second))
	c := res.Total.Counts
	assert.Equal(t, uint64(256), c.Of(loadgen.OutcomeOK), pretty(c))
	assert.Equal(t, uint64(44), c.Of(loadgen.OutcomeConnectTimeout), pretty(c))
	assert.Zero(t, c.Of(loadgen.OutcomeRefused), "a NAT allocation failure is a silent drop, never a refusal")

	// Each of the 44 lost its SYN, and its retransmits, to a failed port
	// allocation, which conntrack counts as a failed insert and a drop:
	// at least 44 each (how many retransmits fit the 3 s is the timer's).
	after := natMetrics(t, tb, "nat")
	assert.GreaterOrEqual(t, after.InsertFailed-before.InsertFailed, uint64(44), "conntrack insert_failed must rise")
	assert.GreaterOrEqual(t, after.Drop-before.Drop, uint64(44), "conntrack drop must rise")
	assert.GreaterOrEqual(t, after.AllocationFailures-before.AllocationFailures, uint64(44))

	// Wait for the held connections to close, then spread over two ports.
	spread := loadAll(t, tb, "client",
		holdPlan(target(t, tb, "api", 8080), 150, 3*time.Second),
		holdPlan(target(t, tb, "api", 8081), 150, 3*time.Second))
	for _, r := range spread {
		assert.Equal(t, uint64(150), r.Total.Counts.Of(loadgen.OutcomeOK), pretty(r.Total.Counts))
	}
}

// Unpooled churn at 100/s for 10 s through 256 ports: the plain Linux
// NAT reuses TIME_WAIT tuples, a managed NAT holding ports for 120 s
// runs out once 256 are held, and a 1 s hold forgives it again.
func TestTimeWaitHold(t *testing.T) {
	churn := func(tgt string) loadgen.Plan {
		return loadgen.Plan{
			Target:         tgt,
			Strategy:       loadgen.Strategy{Kind: loadgen.KindTCP, Pool: loadgen.PoolNone},
			Phases:         []loadgen.Phase{{Name: "churn", Duration: 10 * time.Second, Schedule: loadgen.Schedule{Kind: loadgen.ScheduleOpen, Rate: loadgen.RatePerSecond(100)}}},
			ConnectTimeout: 2 * time.Second,
		}
	}
	cases := []struct {
		name string
		nat  testbed.NATSpec
		// check judges the counts of the 1,000 attempts and the NAT's
		// metrics after them.
		check func(t *testing.T, c loadgen.Counts, m natcfg.Metrics)
	}{
		{"linux", testbed.NATSpec{Mode: testbed.ModeLinux}, func(t *testing.T, c loadgen.Counts, _ natcfg.Metrics) {
			assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK), pretty(c))
		}},
		{"managed-120s", testbed.NATSpec{Mode: testbed.ModeManaged, Hold: 120 * time.Second}, func(t *testing.T, c loadgen.Counts, m natcfg.Metrics) {
			ok := c.Of(loadgen.OutcomeOK)
			// Every success holds its port past the run and no failure
			// holds one (its SYN never left the NAT): exactly.
			assert.Equal(t, uint64(m.HeldPorts), ok, "one held port per success: %s", pretty(c))
			assert.Equal(t, c.Attempts-ok, c.Of(loadgen.OutcomeConnectTimeout), "every other attempt times out: %s", pretty(c))
			assert.LessOrEqual(t, ok, uint64(256), pretty(c))
			// Not every one of the 256 ports need be used: near exhaustion
			// the kernel's port search (random windows of 128, 64, 32, 16
			// ports) tries the plain check only in the first 96 of 128
			// tries and then evicts a TIME_WAIT entry instead, which here is
			// a held port: that SYN is dropped, and the port it freed in
			// conntrack lures the next searches too, so the last free ports
			// can stay unfound. TestManagedHold in agent/natbox shows it
			// sequentially (255 of 256 in some runs); the gcp-cloud-nat
			// profile pins closed entries against it, this mode does not.
			assert.GreaterOrEqual(t, ok, uint64(250), pretty(c))
			assert.Zero(t, c.Of(loadgen.OutcomeRefused)+c.Of(loadgen.OutcomeReset))
		}},
		{"managed-1s", testbed.NATSpec{Mode: testbed.ModeManaged, Hold: time.Second}, func(t *testing.T, c loadgen.Counts, _ natcfg.Metrics) {
			assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK), pretty(c))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tb := up(t, oneNAT(tc.nat))
			res := load(t, tb, "client", churn(target(t, tb, "api", 8080)))
			// An open schedule sends exactly rate x duration arrivals.
			require.Equal(t, uint64(1000), res.Total.Counts.Attempts)
			tc.check(t, res.Total.Counts, natMetrics(t, tb, "nat"))
			t.Logf("%s: %d attempts, %d ok, %d connect timeouts", tc.name, res.Total.Counts.Attempts,
				res.Total.Counts.Of(loadgen.OutcomeOK), res.Total.Counts.Of(loadgen.OutcomeConnectTimeout))
		})
	}
}

// Two origin blocks with their own NAT IPs: exhausting one block's pool
// leaves the other block working.
func TestSeparatePoolsIsolateOriginBlocks(t *testing.T) {
	t.Parallel()
	spec := testbed.Spec{
		NATs: []testbed.NATSpec{{IPs: 2, Ports: ports256, Pools: []testbed.PoolSpec{
			{Name: "a", IPs: 1, Blocks: []string{"block-a"}},
			{Name: "b", IPs: 1, Blocks: []string{"block-b"}},
		}}},
		Clients: []testbed.ClientSpec{
			{Name: "noisy", Block: "block-a", Addresses: 4},
			{Name: "quiet", Block: "block-b", Addresses: 4},
		},
		Backends: []testbed.BackendSpec{{Name: "api", Protocol: service.TCPEcho, Port: 8080}},
	}
	tb := up(t, spec)
	tgt := target(t, tb, "api", 8080)
	noisy := holdPlan(tgt, 400, 8*time.Second)
	noisy.Sources = tb.Run.Layout.Hosts[0].Sources

	// The load runs in the agent; its result is checked here, in the
	// test's goroutine.
	wait := tt.LoadAsync(t, tb, "noisy", noisy)
	// Let the noisy block fill its pool, then the quiet block connects.
	tt.WaitFor(t, 6*time.Second, func() bool {
		return natMetrics(t, tb, "nat").PoolUtilization["a"] >= 1
	}, "block-a's pool should fill")
	quiet := holdPlan(tgt, 100, time.Second)
	quiet.Sources = tb.Run.Layout.Hosts[1].Sources
	q := load(t, tb, "quiet", quiet)
	assert.Equal(t, uint64(100), q.Total.Counts.Of(loadgen.OutcomeOK), pretty(q.Total.Counts))

	n := wait()
	assert.Equal(t, uint64(256), n.Total.Counts.Of(loadgen.OutcomeOK), pretty(n.Total.Counts))
	assert.Equal(t, uint64(144), n.Total.Counts.Of(loadgen.OutcomeConnectTimeout), pretty(n.Total.Counts))

	peers := backendStats(t, tb, "api")[0].Peers
	want := []string{tb.Run.Layout.NATs[0].IPs[0].String(), tb.Run.Layout.NATs[0].IPs[1].String()}
	assert.ElementsMatch(t, want, peers.IPs, "each block leaves through its own NAT IP")
}
