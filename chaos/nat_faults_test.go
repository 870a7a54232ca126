package chaos_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ti-mo/conntrack"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/chaos"
	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natcfg"
	"github.com/natlab/natlab/testbed/netns"
	tt "github.com/natlab/natlab/testbed/testbedtest"
)

// A conntrack flush under steady pooled load through a narrowed port
// range (the clients' own ports lie outside it, so the NAT never keeps a
// client's port): with tcp_loose=1 the next mid-stream packet of each
// pooled flow gets a fresh mapping, and the kernel's outcome is exact
// flow by flow (see flushClasses): the backend answers RST where the new
// port is nobody's, the flow goes on where it is its old one, and stalls
// where it is another pooled flow's old one (with 16 flows in 64 ports, a
// quarter of the runs see one of these).
// The flush reports what it removed; Verify sees the NAT rules changed.
func TestConntrackFlushResetsPooledConnections(t *testing.T) {
	t.Parallel()
	tb, env, ev := flushUnderLoad(t, map[string]any{"destination": "api", "protocol": "tcp"})
	k := ev.classes()
	t.Logf("after the flush: %d pooled flows reset, %d stalled %v, %d went on %v", len(k.reset), len(k.stall), k.stall, len(k.goOn), k.goOn)
	for _, p := range ev.problems() {
		t.Error(p)
	}
	assert.Equal(t, fmt.Sprintf("flush conntrack entries to api tcp on nat (removed %d)", flushPool), ev.describe)

	// A flush reverts nothing; Verify checks the NAT rules were untouched.
	ctx := context.Background()
	require.NoError(t, ev.fault.Verify(ctx, env))
	cfg := natCfg(t, env)
	cfg.PortSelection = natcfg.PortSelectionRandom
	require.NoError(t, tb.Agent("nat").Call(ctx, wire.OpNATApply, cfg, nil))
	err := ev.fault.Verify(ctx, env)
	require.Error(t, err, "Verify must see the NAT rules changed")
	assert.Contains(t, err.Error(), "nat rules on nat differ")
}

// The check of the flush test catches a flush that resets only half the
// pooled flows: the real flush, filtered to the flows of one of the two
// source addresses, removes 8 of the 16, and problems names what the
// full flush would have done.
func TestFlushCheckCatchesAHalfFlush(t *testing.T) {
	t.Parallel()
	_, _, ev := flushUnderLoad(t, map[string]any{"origin": "half", "protocol": "tcp"})
	problems := strings.Join(ev.problems(), "\n")
	t.Logf("the check says:\n%s", problems)
	assert.Contains(t, problems, fmt.Sprintf("the flush removed %d entries, want the %d pooled flows", flushPool/2, flushPool))
	assert.Contains(t, problems, fmt.Sprintf("%d of the %d pooled flows kept their entry", flushPool/2, flushPool))
	assert.Regexp(t, `\d+ resets, want \d+`, problems)
}

// flushPool is the number of pooled connections the flush tests hold.
const flushPool = 16

// flushEvidence is what a flush under pooled load did, as the load and
// the NAT's conntrack table show it.
type flushEvidence struct {
	fault    chaos.Fault
	describe string
	removed  int
	// before is each pooled flow's NAT port before the flush, by its
	// client address and port; after its entry once the load is over.
	before map[netip.AddrPort]uint16
	after  map[netip.AddrPort]ctEntry
	counts loadgen.Counts
}

// ctEntry is a TCP conntrack entry as the flush tests see it.
type ctEntry struct {
	natPort uint16 // the reply direction's destination port
	mark    uint32
	state   uint8
}

// flushMark is set on the pooled flows' entries before the flush: an
// entry the flush deleted comes back without it.
const flushMark = 0x7e57

// flushUnderLoad holds flushPool pooled connections from two source
// addresses through a 64-port range, marks their conntrack entries,
// injects a conntrack-flush with params ("half" as origin names the
// first source address) in the middle of the load and gathers what
// happened.
func flushUnderLoad(t *testing.T, params map[string]any) (*testbed.Testbed, chaos.Env, flushEvidence) {
	t.Helper()
	spec := oneNAT(testbed.NATSpec{Ports: portrange.Range{First: 1024, Last: 1087}})
	spec.Clients[0].Addresses = 2
	tb, env := up(t, spec)
	require.Equal(t, "1", sysctl(t, env, "nat", "net.netfilter.nf_conntrack_tcp_loose"))
	src := tt.Sources(env.Layout(), "client")
	if params["origin"] == "half" {
		params["origin"] = src[0].String()
	}
	api, _ := env.Layout().Backend("api")
	plan := loadgen.Plan{
		Target:   target(t, env, "api", 8080),
		Sources:  src,
		Strategy: loadgen.Strategy{Kind: loadgen.KindTCP, Pool: loadgen.PoolKeepAlive, PoolSize: flushPool},
		Phases:   []loadgen.Phase{{Name: "p", Duration: 4 * time.Second, Schedule: loadgen.Schedule{Kind: loadgen.ScheduleClosed, Concurrency: flushPool}}},
		// Reconnects often take the old NAT port of a flushed flow, whose
		// backend socket may still be established; they have connected in
		// milliseconds in every run seen, but a SYN that met such a socket
		// would get an ACK instead of a SYN-ACK and connect only on its
		// retransmit, after the initial RTO of 1 s: 2.5 s leaves room for
		// it. Connects are counted, not timed.
		ConnectTimeout: 2500 * time.Millisecond,
		RequestTimeout: time.Second,
	}
	ct := natConntrack(t, tb)
	wait := loadAsync(t, env, "client", plan)
	var before map[netip.AddrPort]ctEntry
	tt.WaitFor(t, 10*time.Second, func() bool {
		before = flowsTo(t, ct, api.Addr, 8080)
		return len(before) == flushPool
	}, "the %d pooled connections through the NAT: %v", flushPool, &before)
	ev := flushEvidence{before: map[netip.AddrPort]uint16{}}
	for c, e := range before {
		ev.before[c] = e.natPort
		require.NoError(t, ct.Update(conntrack.Flow{TupleOrig: origTuple(c, api.Addr, 8080), Mark: flushMark}), "mark the entry of %s", c)
	}

	ev.fault = newFault(t, env, "conntrack-flush", "nat", params)
	require.NoError(t, ev.fault.Inject(context.Background(), env))
	ev.removed, _ = ev.fault.(chaos.Reporter).Report()["removed"].(int)
	ev.describe = ev.fault.Describe()
	r := wait()
	ev.counts = r.Total.Counts
	ev.after = flowsTo(t, ct, api.Addr, 8080)
	t.Logf("outcomes %s, %d new connections, slowest connect %v", pretty(ev.counts.Outcomes), ev.counts.NewConns, r.Total.Connect.Max())
	return tb, env, ev
}

// flushClasses sorts the pooled flows by what the kernel did to each
// after a flush of all of them: the flush deletes a flow's entry, the
// flow's next packet gets a fresh entry (without the mark) and a fresh
// NAT port, and then
//   - on its old NAT port the flow goes on (the backend knows the tuple);
//   - on the old port of another pooled flow, whose backend socket is
//     still established, the backend answers with an ACK for that other
//     connection and no RST: the request in flight times out;
//   - on any other port the backend has no socket and answers RST: the
//     request in flight is reset, and conntrack deletes an entry whose only
//     reply was a RST at once, so the flow has no entry afterwards.
//
// A flow whose entry still has the mark was not flushed; one on a port
// that no pooled flow had, still in conntrack, is none of the above.
type flushClasses struct {
	reset, kept, goOn, stall, strange []string
}

func (e flushEvidence) classes() flushClasses {
	var k flushClasses
	oldPort := map[uint16]netip.AddrPort{}
	for c, p := range e.before {
		oldPort[p] = c
	}
	for c, p := range e.before {
		a, ok := e.after[c]
		switch {
		case !ok:
			k.reset = append(k.reset, c.String())
		case a.mark == flushMark:
			k.kept = append(k.kept, c.String())
		case a.natPort == p:
			k.goOn = append(k.goOn, fmt.Sprintf("%s on its port %d", c, p))
		case oldPort[a.natPort].IsValid():
			k.stall = append(k.stall, fmt.Sprintf("%s on %d, the old port of %s", c, a.natPort, oldPort[a.natPort]))
		default:
			k.strange = append(k.strange, fmt.Sprintf("%s from %d to %d, in state %d", c, p, a.natPort, a.state))
		}
	}
	return k
}

// problems compares what the load saw with what the kernel does to the
// pooled flows after a flush of all of them (see flushClasses): every
// other request is ok and the pool redials once per broken flow. It
// returns one line per difference.
func (e flushEvidence) problems() []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if len(e.before) != flushPool {
		bad("%d pooled flows before the flush, want %d", len(e.before), flushPool)
	}
	if e.removed != flushPool {
		bad("the flush removed %d entries, want the %d pooled flows", e.removed, flushPool)
	}
	k := e.classes()
	if len(k.kept) > 0 {
		bad("%d of the %d pooled flows kept their entry: the flush did not delete %v", len(k.kept), flushPool, k.kept)
	}
	if len(k.strange) > 0 {
		bad("pooled flows mapped afresh to a port no pooled flow had, yet not reset: %v", k.strange)
	}
	c := e.counts
	wantStall := uint64(len(k.stall))
	wantReset := uint64(flushPool - len(k.goOn) - len(k.stall))
	if got := c.Of(loadgen.OutcomeReset); got != wantReset {
		bad("%d resets, want %d: every pooled flow but the %d going on and the %d stalled", got, wantReset, len(k.goOn), len(k.stall))
	}
	if got := c.Of(loadgen.OutcomeReadTimeout); got != wantStall {
		bad("%d read timeouts, want %d: the flows mapped to another flow's old port (%v)", got, wantStall, k.stall)
	}
	if other := c.Attempts - c.Of(loadgen.OutcomeOK) - c.Of(loadgen.OutcomeReset) - c.Of(loadgen.OutcomeReadTimeout); other != 0 {
		bad("%d attempts ended otherwise than ok, reset or read timeout: %v", other, c.Outcomes)
	}
	if want := uint64(flushPool) + wantReset + wantStall; c.NewConns != want {
		bad("%d connections opened, want %d: the pool's %d and one for each broken flow", c.NewConns, want, flushPool)
	}
	return out
}

// natConntrack opens a conntrack socket in the NAT box's namespace; a
// netlink socket stays in the namespace it was opened in.
func natConntrack(t *testing.T, tb *testbed.Testbed) *conntrack.Conn {
	t.Helper()
	ns, err := vnetns.GetFromName(netns.NamespaceName(tb.Run.ID, "nat"))
	require.NoError(t, err)
	defer ns.Close()
	var c *conntrack.Conn
	require.NoError(t, netns.Do(ns, func() (err error) {
		c, err = conntrack.Dial(nil)
		return err
	}), "conntrack in the NAT's namespace")
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// flowsTo lists the TCP entries to dst:port by their client address and
// port.
func flowsTo(t *testing.T, ct *conntrack.Conn, dst netip.Addr, port uint16) map[netip.AddrPort]ctEntry {
	t.Helper()
	flows, err := ct.Dump(nil)
	require.NoError(t, err)
	out := map[netip.AddrPort]ctEntry{}
	for _, f := range flows {
		o := f.TupleOrig
		if o.Proto.Protocol != unix.IPPROTO_TCP || o.IP.DestinationAddress != dst || o.Proto.DestinationPort != port {
			continue
		}
		e := ctEntry{natPort: f.TupleReply.Proto.DestinationPort, mark: f.Mark}
		if f.ProtoInfo.TCP != nil {
			e.state = f.ProtoInfo.TCP.State
		}
		out[netip.AddrPortFrom(o.IP.SourceAddress, o.Proto.SourcePort)] = e
	}
	return out
}

func origTuple(c netip.AddrPort, dst netip.Addr, port uint16) conntrack.Tuple {
	return conntrack.Tuple{
		IP:    conntrack.IPTuple{SourceAddress: c.Addr(), DestinationAddress: dst},
		Proto: conntrack.ProtoTuple{Protocol: unix.IPPROTO_TCP, SourcePort: c.Port(), DestinationPort: port},
	}
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
	tb, env := up(t, oneNAT(testbed.NATSpec{Ports: portrange.Range{First: 1024, Last: 2047}}))
	tgt := target(t, env, "api", 8080)
	api, _ := env.Layout().Backend("api")
	// Connects get room for SYN retransmits: SYNs racing for a free port
	// on two CPUs can clash in conntrack (the loser is dropped, an insert
	// failure), and the loser's retransmit comes after the initial RTO of
	// 1 s (then 1 s apart, tcp_syn_linear_timeouts=4: SYNs at 0, 1, 2 s
	// within the 2.5 s).
	hold := func(n int, d time.Duration) loadgen.Plan {
		return loadgen.Plan{Target: tgt, Strategy: loadgen.Strategy{Kind: loadgen.KindTCP},
			Phases:         []loadgen.Phase{{Name: "hold", Duration: d, Schedule: loadgen.Schedule{Kind: loadgen.ScheduleHold, Hold: n}}},
			ConnectTimeout: 2500 * time.Millisecond}
	}
	ctx := context.Background()
	ct := natConntrack(t, tb)
	// The 200 stay until the test stops them, whatever the checks take.
	waitHeld := loadAsync(t, env, "client", hold(200, time.Minute))
	tt.WaitFor(t, 10*time.Second, func() bool { return len(flowsTo(t, ct, api.Addr, 8080)) == 200 }, "the 200 held connections")

	f := newFault(t, env, "snat", "nat", map[string]any{"ports": "1024-1087"})
	assert.Equal(t, "change SNAT on nat: ports 1024-1087", f.Describe())
	before := natMetrics(t, env, "nat")
	require.NoError(t, f.Inject(ctx, env))
	t.Cleanup(func() { _ = f.Revert(ctx, env) })
	// The held flows keep their mappings (in conntrack, not the rule);
	// those inside the new range leave the rest of its 64 ports free.
	inRange := 0
	for _, e := range flowsTo(t, ct, api.Addr, 8080) {
		if e.natPort <= 1087 {
			inRange++
		}
	}
	free := uint64(64 - inRange)

	// The hold outlasts the connects, so no port it holds is freed while
	// a connect still waits for one, and no connect is cut short by its
	// end: 150 dials at once start late on a loaded machine (at -p 4,
	// load average ~50, 98 had not ended when a 3 s hold did: cancelled),
	// so the hold lasts the 2.5 s connect timeout and 3.5 s more.
	shrunk := load(t, env, "client", hold(150, 6*time.Second)).Total.Counts
	t.Logf("150 new connections with %d of 64 ports free: %s", free, pretty(shrunk.Outcomes))
	assert.Equal(t, free, shrunk.Of(loadgen.OutcomeOK), "every free port of the shrunk range, and no other: %s", pretty(shrunk))
	assert.Equal(t, 150-free, shrunk.Of(loadgen.OutcomeConnectTimeout), "the rest is a silent drop: %s", pretty(shrunk))
	during := natMetrics(t, env, "nat")
	assert.GreaterOrEqual(t, during.AllocationFailures-before.AllocationFailures, 150-free,
		"at least the first SYN of every connect that timed out was dropped for want of a port")

	require.NoError(t, f.Revert(ctx, env))
	require.NoError(t, f.Verify(ctx, env))
	// Grown back, one dial at a time: no SYNs race for a port, so no
	// clash may count as an allocation failure, and none may happen.
	regrow := hold(150, time.Second)
	regrow.MaxInFlight = 1
	grown := load(t, env, "client", regrow).Total.Counts
	assert.Equal(t, uint64(150), grown.Of(loadgen.OutcomeOK), "grown back, every connection succeeds: %s", pretty(grown))
	after := natMetrics(t, env, "nat")
	assert.Equal(t, during.AllocationFailures, after.AllocationFailures, "grown back, allocation failures stop")

	require.NoError(t, env.Agent("client").Call(ctx, wire.OpLoadStop, nil, nil), "end the 200 held connections")
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

	// The phases run on the agent's clock and the fault on the test's, a
	// little earlier: attempts at the end of "clean" may meet drops too,
	// so only "lossy" is judged, and clean traffic after the revert.
	lossy := phase(t, r, "lossy")
	t.Logf("lossy connect p50 %v p90 %v max %v; lossy outcomes %s",
		lossy.Connect.Quantile(0.50), lossy.Connect.Quantile(0.90), lossy.Connect.Max(), pretty(lossy.Counts.Outcomes))
	// A connect whose SYN or SYN-ACK was dropped completes on the SYN's
	// retransmit, which the kernel sends no sooner than the initial RTO
	// (1 s): a lower bound that a slow machine only raises. Each connect
	// loses one of those two packets with probability 1-0.7^2 = 0.51, so
	// the slowest tenth of some 120 connects took a retransmit unless
	// fewer than 12 lost one (binomial: about 1e-20). 900 ms allows for
	// the histogram's rounding.
	assert.GreaterOrEqual(t, lossy.Connect.Quantile(0.90), 900*time.Millisecond, "SYN retransmits show in the connect latency")
	c := lossy.Counts
	assert.Zero(t, c.Of(loadgen.OutcomeRefused)+c.Of(loadgen.OutcomeReset)+c.Of(loadgen.OutcomeUnreachable), pretty(c))
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK)+c.Of(loadgen.OutcomeConnectTimeout)+c.Of(loadgen.OutcomeReadTimeout),
		"a drop is silent: an attempt succeeds after retransmits or times out: %s", pretty(c))
	// Drops are random, so how many attempts fail is not exact: one fails
	// only when a packet and every retransmit of it within the 4 s are
	// dropped (both ends retransmit the handshake; data is resent after
	// 200 ms, 400 ms, ...). 2 of 480 failed in trials; 10% of 120 is
	// beyond any chance of that, and well short of a rule dropping more.
	assert.GreaterOrEqual(t, float64(c.Of(loadgen.OutcomeOK)), 0.9*float64(c.Attempts), "most attempts still succeed: %s", pretty(c))

	last := markers[len(markers)-1]
	assert.Equal(t, chaos.EventVerify, last.Event)
	assert.Empty(t, last.Err)
	dropped, _ := markers[1].Report["dropped_packets"].(uint64)
	assert.Positive(t, dropped, "the drop rule counted packets: %v", markers[1].Report)

	// After the revert traffic is clean again: nothing is dropped.
	after := load(t, env, "client", loadgen.Plan{Target: plan.Target, Strategy: plan.Strategy,
		Phases: []loadgen.Phase{{Name: "p", Duration: time.Second, Schedule: plan.Phases[0].Schedule}}}).Total.Counts
	assert.Equal(t, after.Attempts, after.Of(loadgen.OutcomeOK), pretty(after))

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
