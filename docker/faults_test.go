package docker_test

import (
	"context"
	"maps"
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
	"github.com/natlab/natlab/testbed/service"
	tt "github.com/natlab/natlab/testbed/testbedtest"
)

// Short names for the shared fault harness.
var (
	newFault    = tt.NewFault
	inject      = tt.Inject
	revert      = tt.Revert
	runTimeline = tt.RunTimeline
	phaseCounts = tt.PhaseOf
	threePhases = tt.Phases
	sysctl      = tt.Sysctl
	setSysctl   = tt.SetSysctl
)

// faultCase is one check of a fault kind in containers: the testbed it
// needs and what it does there. The expectations are those of the netns
// tests in chaos/ (same figures unless a comment says why not).
type faultCase struct {
	name  string
	spec  testbed.Spec
	check func(t *testing.T, env chaos.Env)
}

// dockerFaultCases are the checks of every fault kind, by kind. A kind of
// the registry without one fails TestEveryFaultKindOnDocker.
var dockerFaultCases = map[string][]faultCase{
	"sysctl":             {{"ip_forward off", tt.OneNAT(testbed.NATSpec{}), checkIPForwardOff}},
	"conntrack-flush":    {{"pooled connections reset", tt.OneNAT(testbed.NATSpec{Ports: portrange.Range{First: 1024, Last: 1087}}), checkFlush}},
	"snat":               {{"shrink and grow", tt.OneNAT(testbed.NATSpec{Ports: portrange.Range{First: 1024, Last: 2047}}), checkSNATShrink}},
	"conntrack-timeouts": {{"udp 1s", tt.OneNAT(testbed.NATSpec{}, testbed.BackendSpec{Name: "dns", Protocol: service.UDPEcho, Port: 5353}), checkTimeouts}},
	"link":               {{"wan0 down", tt.OneNAT(testbed.NATSpec{}), checkLinkDown}},
	"drop": {
		{"percent", tt.OneNAT(testbed.NATSpec{}), checkDropPercent},
		{"blackhole", tt.OneNAT(testbed.NATSpec{}), checkBlackhole},
	},
	"kill": {
		{"backend", tt.OneNAT(testbed.NATSpec{}), checkKillBackend},
		{"nat", tt.OneNAT(testbed.NATSpec{}), checkKillNAT},
	},
	"restart":  {{"backend", tt.OneNAT(testbed.NATSpec{}), checkRestartBackend}},
	"saturate": {{"registrar fails closed", tt.OneNAT(testbed.NATSpec{}, testbed.BackendSpec{Name: "reg", Protocol: service.Registrar, Port: 8080}), checkSaturate}},
	"nat-config": {{"min ports 256 to 64", testbed.Spec{
		NATs:     []testbed.NATSpec{{IPs: 1, Profile: testbed.ProfileGCPCloudNAT, GCP: &testbed.GCPCloudNAT{MinPortsPerVM: 256}}},
		Clients:  []testbed.ClientSpec{{Name: "client", Addresses: 2}},
		Backends: []testbed.BackendSpec{{Name: "api", Protocol: service.TCPEcho, Port: 8080}},
	}, checkNATConfigMinPorts}, {"dpa off after growth", testbed.Spec{
		NATs:     []testbed.NATSpec{{IPs: 1, Profile: testbed.ProfileGCPCloudNAT, GCP: &testbed.GCPCloudNAT{MinPortsPerVM: 64, MaxPortsPerVM: 128, EnableDynamicPortAllocation: true}}},
		Clients:  []testbed.ClientSpec{{Name: "client", Addresses: 2}},
		Backends: []testbed.BackendSpec{{Name: "api", Protocol: service.TCPEcho, Port: 8080}},
	}, checkNATConfigDPAOff}, {"eim on", testbed.Spec{
		NATs:     []testbed.NATSpec{{IPs: 1, Profile: testbed.ProfileGCPCloudNAT, GCP: &testbed.GCPCloudNAT{MinPortsPerVM: 64}}},
		Clients:  []testbed.ClientSpec{{Name: "client", Addresses: 2}},
		Backends: []testbed.BackendSpec{{Name: "api", Protocol: service.TCPEcho, Port: 8080}},
	}, checkNATConfigEIMOn}, {"remove a NAT IP", testbed.Spec{
		NATs:     []testbed.NATSpec{{IPs: 2, Ports: portrange.Range{First: 1024, Last: 1279}}},
		Clients:  []testbed.ClientSpec{{Name: "client", Addresses: 16}},
		Backends: []testbed.BackendSpec{{Name: "api", Protocol: service.TCPEcho, Port: 8080}},
	}, checkNATConfigRemoveIP}},
	"vm-start": {{"a standby host waits for a block", tt.VMsSpec(), tt.CheckVMStart}},
	"vm-stop":  {{"a host stops and starts again", tt.VMsSpec(), tt.CheckVMStop}},
}

// Every fault kind of the registry works on the docker backend: its
// effect shows in traffic through containers, its revert undoes it and
// Verify proves the recorded state is back. A new kind fails here until
// it has a case: no kind is skipped.
func TestEveryFaultKindOnDocker(t *testing.T) {
	requireDocker(t)
	for _, k := range chaos.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			cases := dockerFaultCases[k.Name]
			if len(cases) == 0 {
				t.Fatalf("fault kind %q has no docker check: add one to dockerFaultCases", k.Name)
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					start := time.Now()
					tb := up(t, c.spec)
					c.check(t, chaos.TestbedEnv(tb))
					t.Logf("%s/%s took %s (bring-up included)", k.Name, c.name, time.Since(start).Round(10*time.Millisecond))
				})
			}
		})
	}
	for name := range dockerFaultCases {
		_, ok := chaos.Lookup(name)
		assert.True(t, ok, "dockerFaultCases has %q, which is no fault kind", name)
	}
}

// tcpOpen is 20 TCP connections a second to api for a second, each
// connect given 500 ms.
func tcpOpen(t testing.TB, env chaos.Env) loadgen.Plan {
	plan := tt.OpenPlan(tt.Target(t, env.Layout(), "api", 8080), loadgen.Strategy{Kind: loadgen.KindTCP}, 20, time.Second)
	plan.ConnectTimeout = 500 * time.Millisecond
	return plan
}

// ip_forward=0: new flows time out silently (no refusal, no ICMP error);
// after the revert they succeed, the sysctl is 1 and Verify proves it; set
// behind the fault's back, Verify names the key.
func checkIPForwardOff(t *testing.T, env chaos.Env) {
	f := newFault(t, env, "sysctl", "nat", map[string]any{"set": map[string]any{"net.ipv4.ip_forward": 0}})
	require.Equal(t, "1", sysctl(t, env, "nat", "net.ipv4.ip_forward"))
	inject(t, env, f)
	assert.Equal(t, "0", sysctl(t, env, "nat", "net.ipv4.ip_forward"))
	c := tt.Load(t, env, "client", tcpOpen(t, env)).Total.Counts
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeConnectTimeout), "forwarding off is a silent drop: %s", pretty(c))
	revert(t, env, f)
	assert.Equal(t, "1", sysctl(t, env, "nat", "net.ipv4.ip_forward"))
	c = tt.Load(t, env, "client", tcpOpen(t, env)).Total.Counts
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK), "forwarding is back: %s", pretty(c))

	setSysctl(t, env, "nat", "net.ipv4.ip_forward", "0")
	err := f.Verify(context.Background(), env)
	require.Error(t, err, "Verify must see the sysctl changed behind its back")
	assert.Contains(t, err.Error(), `net.ipv4.ip_forward on nat is "0", was "1"`)
	setSysctl(t, env, "nat", "net.ipv4.ip_forward", "1")
}

// A conntrack flush under pooled load through a narrowed port range
// removes the pooled flows' entries; with tcp_loose=1 their next packets
// get a fresh mapping, the backend answers RST and the pool reconnects.
func checkFlush(t *testing.T, env chaos.Env) {
	require.Equal(t, "1", sysctl(t, env, "nat", "net.netfilter.nf_conntrack_tcp_loose"))
	plan := loadgen.Plan{
		Target:         tt.Target(t, env.Layout(), "api", 8080),
		Strategy:       loadgen.Strategy{Kind: loadgen.KindTCP, Pool: loadgen.PoolKeepAlive, PoolSize: 16},
		Phases:         threePhases(loadgen.Schedule{Kind: loadgen.ScheduleClosed, Concurrency: 16}, []string{"before", "flush", "after"}, time.Second, time.Second, 1500*time.Millisecond),
		ConnectTimeout: time.Second,
		RequestTimeout: time.Second,
	}
	f := newFault(t, env, "conntrack-flush", "nat", map[string]any{"destination": "api", "protocol": "tcp"})
	start := time.Now()
	wait := tt.LoadAsync(t, env, "client", plan)
	markers := runTimeline(t, env, start, chaos.Scheduled{Name: "flush", At: 1100 * time.Millisecond, Fault: f})
	r := wait()

	require.NotEmpty(t, markers)
	require.Equal(t, chaos.EventInject, markers[0].Event)
	require.Empty(t, markers[0].Err)
	removed, _ := markers[0].Report["removed"].(int)
	assert.GreaterOrEqual(t, removed, 16, "the 16 pooled flows were flushed: %v", markers[0].Report)
	for _, m := range markers[1:] {
		assert.Empty(t, m.Err, "%s", m.Event)
	}
	fl := phaseCounts(t, r, "flush").Counts
	resets := fl.Of(loadgen.OutcomeReset) + fl.Of(loadgen.OutcomeBrokenPipe) + fl.Of(loadgen.OutcomeClosed)
	t.Logf("flush phase: %s; %d connections reset", pretty(fl.Outcomes), resets)
	assert.Positive(t, resets, "existing connections are reset after the flush: %s", pretty(fl))
	b := phaseCounts(t, r, "before").Counts
	assert.Equal(t, b.Attempts, b.Of(loadgen.OutcomeOK), pretty(b))
	a := phaseCounts(t, r, "after").Counts
	assert.Greater(t, a.Of(loadgen.OutcomeOK), uint64(1000), "new connections succeed: %s", pretty(a))
	assert.LessOrEqual(t, a.Errors(), uint64(16), pretty(a))
	assert.Positive(t, r.Total.Counts.NewConns-16, "the pool had to reconnect")
	require.NoError(t, f.Verify(context.Background(), env), "a flush leaves the NAT rules alone")
}

// Shrinking the pool from 1,024 to 64 ports: new connections beyond the
// free ports time out (never refused) and allocation failures rise;
// growing it back, every connection succeeds.
func checkSNATShrink(t *testing.T, env chaos.Env) {
	tgt := tt.Target(t, env.Layout(), "api", 8080)
	f := newFault(t, env, "snat", "nat", map[string]any{"ports": "1024-1087"})
	before := tt.NATMetrics(t, env, "nat")
	inject(t, env, f)
	hold := holdPlan(tgt, 150, 1500*time.Millisecond)
	hold.ConnectTimeout = time.Second
	c := tt.Load(t, env, "client", hold).Total.Counts
	t.Logf("150 connections with 64 ports: %s", pretty(c.Outcomes))
	assert.LessOrEqual(t, c.Of(loadgen.OutcomeOK), uint64(64), pretty(c))
	assert.GreaterOrEqual(t, c.Of(loadgen.OutcomeConnectTimeout), uint64(150-64), pretty(c))
	assert.Zero(t, c.Of(loadgen.OutcomeRefused))
	during := tt.NATMetrics(t, env, "nat")
	assert.Greater(t, during.AllocationFailures, before.AllocationFailures, "allocation failures rise")

	revert(t, env, f)
	// As in chaos' TestSNATShrinkAndGrow: allow one SYN retransmit for the
	// odd clash of concurrent SYNs.
	regrow := holdPlan(tgt, 150, time.Second)
	regrow.ConnectTimeout = 2500 * time.Millisecond
	c = tt.Load(t, env, "client", regrow).Total.Counts
	assert.Equal(t, uint64(150), c.Of(loadgen.OutcomeOK), "grown back, every connection succeeds: %s", pretty(c))
}

// udp: 1s makes the NAT forget finished UDP flows within seconds; the
// revert restores both sysctls and Verify sees one changed behind its back.
func checkTimeouts(t *testing.T, env chaos.Env) {
	const key = "net.netfilter.nf_conntrack_udp_timeout"
	const twKey = "net.netfilter.nf_conntrack_tcp_timeout_time_wait"
	was, twWas := sysctl(t, env, "nat", key), sysctl(t, env, "nat", twKey)
	f := newFault(t, env, "conntrack-timeouts", "nat", map[string]any{"udp": "1s", "tcp_time_wait": 7})
	inject(t, env, f)
	assert.Equal(t, "1", sysctl(t, env, "nat", key))
	assert.Equal(t, "7", sysctl(t, env, "nat", twKey))

	udp := tt.OpenPlan(tt.Target(t, env.Layout(), "dns", 5353), loadgen.Strategy{Kind: loadgen.KindUDP}, 100, time.Second)
	r := tt.Load(t, env, "client", udp)
	require.Equal(t, r.Total.Counts.Attempts, r.Total.Counts.Of(loadgen.OutcomeOK), pretty(r.Total.Counts))
	tt.WaitFor(t, 10*time.Second, func() bool { return tt.NATMetrics(t, env, "nat").ConntrackEntries < 5 },
		"with a 1 s udp timeout the ~100 finished flows leave conntrack")

	revert(t, env, f)
	assert.Equal(t, was, sysctl(t, env, "nat", key))
	assert.Equal(t, twWas, sysctl(t, env, "nat", twKey))
	r = tt.Load(t, env, "client", udp)
	require.Equal(t, r.Total.Counts.Attempts, r.Total.Counts.Of(loadgen.OutcomeOK))
	time.Sleep(2 * time.Second)
	assert.Greater(t, tt.NATMetrics(t, env, "nat").ConntrackEntries, 80, "back at %ss the flows stay", was)

	setSysctl(t, env, "nat", twKey, "9")
	err := f.Verify(context.Background(), env)
	require.Error(t, err)
	assert.Contains(t, err.Error(), twKey)
	setSysctl(t, env, "nat", twKey, twWas)
}

// wan0 down on the NAT: nothing gets through; up again: all is well.
func checkLinkDown(t *testing.T, env chaos.Env) {
	f := newFault(t, env, "link", "nat", nil)
	inject(t, env, f)
	c := tt.Load(t, env, "client", tcpOpen(t, env)).Total.Counts
	t.Logf("wan0 down: %s", pretty(c.Outcomes))
	assert.Zero(t, c.Of(loadgen.OutcomeOK), pretty(c))
	revert(t, env, f)
	c = tt.Load(t, env, "client", tcpOpen(t, env)).Total.Counts
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK), pretty(c))

	ctx := context.Background()
	require.NoError(t, env.Agent("nat").Call(ctx, wire.OpLinkSet, wire.LinkState{Interface: "wan0"}, nil))
	err := f.Verify(ctx, env)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "wan0 on nat is up=false, was up=true")
	require.NoError(t, env.Agent("nat").Call(ctx, wire.OpLinkSet, wire.LinkState{Interface: "wan0", Up: true}, nil))
}

// 30% of forwarded packets dropped: connects take SYN retransmits (1 s
// and more) without refusals or resets; the revert removes the rule and
// connects are fast again.
func checkDropPercent(t *testing.T, env chaos.Env) {
	tgt := tt.Target(t, env.Layout(), "api", 8080)
	open := loadgen.Schedule{Kind: loadgen.ScheduleOpen, Rate: loadgen.RatePerSecond(40)}
	plan := loadgen.Plan{
		Target:         tgt,
		Strategy:       loadgen.Strategy{Kind: loadgen.KindTCP},
		Phases:         threePhases(open, []string{"clean", "lossy"}, 1500*time.Millisecond, 3*time.Second),
		ConnectTimeout: 4 * time.Second,
		RequestTimeout: 4 * time.Second,
	}
	f := newFault(t, env, "drop", "nat", map[string]any{"percent": 30})
	start := time.Now()
	wait := tt.LoadAsync(t, env, "client", plan)
	markers := runTimeline(t, env, start, chaos.Scheduled{Name: "loss", At: 1500 * time.Millisecond, For: 3 * time.Second, Fault: f})
	r := wait()

	clean, lossy := phaseCounts(t, r, "clean"), phaseCounts(t, r, "lossy")
	t.Logf("clean connect p99 %v; lossy connect p50 %v p90 %v max %v; lossy outcomes %s",
		clean.Connect.Quantile(0.99), lossy.Connect.Quantile(0.50), lossy.Connect.Quantile(0.90), lossy.Connect.Max(), pretty(lossy.Counts.Outcomes))
	assert.Less(t, clean.Connect.Quantile(0.99), 200*time.Millisecond)
	assert.GreaterOrEqual(t, lossy.Connect.Quantile(0.90), 900*time.Millisecond, "SYN retransmits show in the connect latency")
	c := lossy.Counts
	assert.Zero(t, c.Of(loadgen.OutcomeRefused)+c.Of(loadgen.OutcomeReset)+c.Of(loadgen.OutcomeUnreachable), pretty(c))
	assert.Greater(t, float64(c.Of(loadgen.OutcomeOK)), 0.7*float64(c.Attempts), "most attempts still succeed: %s", pretty(c))

	require.Len(t, markers, 3, pretty(markers))
	for _, m := range markers {
		assert.Empty(t, m.Err, "%s", m.Event)
	}
	assert.Equal(t, chaos.EventVerify, markers[2].Event)
	dropped, _ := markers[1].Report["dropped_packets"].(uint64)
	assert.Positive(t, dropped, "the drop rule counted packets: %v", markers[1].Report)

	after := tt.Load(t, env, "client", loadgen.Plan{Target: tgt, Strategy: plan.Strategy,
		Phases: []loadgen.Phase{{Name: "p", Duration: time.Second, Schedule: open}}})
	assert.Less(t, after.Total.Connect.Quantile(0.99), 200*time.Millisecond, "after the revert connects are fast again")
}

// A blackholed backend: every connect times out; reverted: they succeed.
func checkBlackhole(t *testing.T, env chaos.Env) {
	f := newFault(t, env, "drop", "nat", map[string]any{"blackhole": "api"})
	inject(t, env, f)
	c := tt.Load(t, env, "client", tcpOpen(t, env)).Total.Counts
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeConnectTimeout), pretty(c))
	revert(t, env, f)
	c = tt.Load(t, env, "client", tcpOpen(t, env)).Total.Counts
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK), pretty(c))
}

// A killed backend refuses connections; the revert restarts it and it
// serves again; Verify sees it killed again behind its back.
func checkKillBackend(t *testing.T, env chaos.Env) {
	ctx := context.Background()
	f := newFault(t, env, "kill", "api", nil)
	inject(t, env, f)
	plan := tcpOpen(t, env)
	plan.ConnectTimeout = time.Second
	c := tt.Load(t, env, "client", plan).Total.Counts
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeRefused), "a dead backend refuses: %s", pretty(c))
	revert(t, env, f)
	c = tt.Load(t, env, "client", plan).Total.Counts
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK), "the restarted backend serves: %s", pretty(c))

	require.NoError(t, env.Host("api").Kill())
	err := f.Verify(ctx, env)
	require.Error(t, err, "Verify must see the agent gone")
	assert.Contains(t, err.Error(), "agent is not healthy")
	require.NoError(t, env.Restart(ctx, "api"))
}

// As on netns (chaos' TestKillNATAgent): killing the NAT box's agent is a
// crash of the agent, not of the kernel, so forwarding goes on; the
// restarted agent sets the same rules up again, which Verify checks.
func checkKillNAT(t *testing.T, env chaos.Env) {
	f := newFault(t, env, "kill", "nat", nil)
	inject(t, env, f)
	plan := tcpOpen(t, env)
	c := tt.Load(t, env, "client", plan).Total.Counts
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK), "the kernel keeps forwarding without the agent: %s", pretty(c))
	revert(t, env, f)
	c = tt.Load(t, env, "client", plan).Total.Counts
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK), "after the restart: %s", pretty(c))
}

// restart kills the backend and brings it back at once: right after the
// inject a new agent serves (its counters start from zero), and Verify
// tells it from the old one by its instance id.
func checkRestartBackend(t *testing.T, env chaos.Env) {
	c := tt.Load(t, env, "client", tcpOpen(t, env)).Total.Counts
	require.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK), pretty(c))
	first := env.Agent("api")
	f := newFault(t, env, "restart", "api", nil)
	inject(t, env, f)
	assert.NotSame(t, first, env.Agent("api"), "the runner talks to a new agent")
	st := tt.BackendStats(t, env, "api")
	require.Len(t, st, 1)
	assert.Zero(t, st[0].Accepted, "the new agent counts from zero")
	c = tt.Load(t, env, "client", tcpOpen(t, env)).Total.Counts
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK), "restart recovers at once: %s", pretty(c))
	revert(t, env, f)
}

// The registrar's dependency capped at one lookup at a time, 3 s each:
// registrations fail closed with 503; the revert lifts the cap.
func checkSaturate(t *testing.T, env chaos.Env) {
	plan := tt.OpenPlan(tt.Target(t, env.Layout(), "reg", 8080), loadgen.Strategy{Kind: loadgen.KindHTTP1, Path: "/register", Payload: 16}, 20, time.Second)
	plan.RequestTimeout = 3 * time.Second
	f := newFault(t, env, "saturate", "reg", map[string]any{"limit": 1, "latency": "3s"})
	inject(t, env, f)
	c := tt.Load(t, env, "client", plan).Total.Counts
	t.Logf("saturated: %s", pretty(c.Outcomes))
	assert.GreaterOrEqual(t, c.Of(loadgen.OutcomeHTTP5xx), c.Attempts-1, "registration fails closed: %s", pretty(c))
	st := tt.BackendStats(t, env, "reg")
	require.Len(t, st, 1)
	assert.GreaterOrEqual(t, st[0].Registrations.FailedClosed, c.Attempts-1)

	revert(t, env, f)
	st = tt.BackendStats(t, env, "reg")
	assert.Zero(t, st[0].Dependency.Limit, "cap lifted")
	c = tt.Load(t, env, "client", plan).Total.Counts
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK), "registrations succeed again: %s", pretty(c))
}

// Lowering min_ports_per_vm from 256 to 64 under 512 busy pooled
// connections that fill both VMs' blocks: each VM keeps the first 64
// ports of its block, so exactly 2 x 192 connections are reset, as the
// NAT predicted, as the kernel counted and as the clients saw (the netns
// test in chaos/ reads the same figure port by port from conntrack).
// Every connection carries a request again within moments, and meets the
// reset with it (a request in flight at the change still gets its answer).
func checkNATConfigMinPorts(t *testing.T, env chaos.Env) {
	vms := tt.Sources(env.Layout(), "client")
	require.Len(t, vms, 2)
	plan := loadgen.Plan{
		Target:         tt.Target(t, env.Layout(), "api", 8080),
		Sources:        vms,
		Strategy:       loadgen.Strategy{Kind: loadgen.KindTCP, Pool: loadgen.PoolKeepAlive, PoolSize: 512},
		Phases:         []loadgen.Phase{{Name: "p", Duration: 10 * time.Second, Schedule: loadgen.Schedule{Kind: loadgen.ScheduleClosed, Concurrency: 512}}},
		ConnectTimeout: 2500 * time.Millisecond,
		RequestTimeout: 5 * time.Second,
	}
	start := time.Now()
	wait := tt.LoadAsync(t, env, "client", plan)
	// Polled in the test's goroutine, with a deadline for a loaded machine.
	tt.WaitFor(t, 20*time.Second, func() bool {
		m := tt.NATMetrics(t, env, "nat")
		if m.GCP == nil || m.GCP.OpenConnections != 512 {
			return false
		}
		for _, v := range m.GCP.VMs {
			if v.VM == vms[0] || v.VM == vms[1] {
				if v.PortUsage != 256 {
					return false
				}
			}
		}
		return true
	}, "both VMs' 256 ports in use")
	f := newFault(t, env, "nat-config", "nat", map[string]any{"min_ports_per_vm": 64})
	inject(t, env, f)
	// A reset the pool meets after its last attempt is no outcome: the
	// load must go on past the change.
	if took := time.Since(start); took > 7*time.Second {
		t.Fatalf("the change came %s into a 10s load: too late to judge its effects on this machine now", took.Round(time.Millisecond))
	}
	rep := f.(chaos.Reporter).Report()
	assert.Equal(t, 384, rep["predicted_resets"], pretty(rep))
	assert.Equal(t, 0, rep["removed"], "a reset flow's entry stays until the reset is sent: %s", pretty(rep))
	c := wait().Total.Counts
	t.Logf("outcomes %s", pretty(c.Outcomes))
	assert.Equal(t, uint64(384), c.Of(loadgen.OutcomeReset), pretty(c))
	assert.Zero(t, c.Of(loadgen.OutcomeReadTimeout), "the 128 kept connections went on: %s", pretty(c))
	revert(t, env, f)
	rep = f.(chaos.Reporter).Report()
	assert.Equal(t, 384, rep["observed_resets"], pretty(rep))
	assert.Equal(t, 0, rep["observed_dropped"], pretty(rep))
}

// busyPool keeps n pooled connections from the client's addresses busy
// for 10 s (n closed-loop workers over a pool of n), so that every
// connection meets a change with its next request.
func busyPool(t *testing.T, env chaos.Env, n int, requestTimeout time.Duration) loadgen.Plan {
	return loadgen.Plan{
		Target:         tt.Target(t, env.Layout(), "api", 8080),
		Sources:        tt.Sources(env.Layout(), "client"),
		Strategy:       loadgen.Strategy{Kind: loadgen.KindTCP, Pool: loadgen.PoolKeepAlive, PoolSize: n},
		Phases:         []loadgen.Phase{{Name: "p", Duration: 10 * time.Second, Schedule: loadgen.Schedule{Kind: loadgen.ScheduleClosed, Concurrency: n}}},
		ConnectTimeout: 2500 * time.Millisecond,
		RequestTimeout: requestTimeout,
	}
}

// changeUnderLoad waits until ready holds under a busyPool load of n,
// injects the nat-config change params, and returns the fault, its
// prediction and the load's counts; the revert gives its observation.
func changeUnderLoad(t *testing.T, env chaos.Env, n int, requestTimeout time.Duration, ready func(natcfg.Metrics) bool, params map[string]any) (chaos.Fault, map[string]any, loadgen.Counts) {
	t.Helper()
	start := time.Now()
	wait := tt.LoadAsync(t, env, "client", busyPool(t, env, n, requestTimeout))
	// Polled in the test's goroutine, with a deadline for a loaded machine.
	tt.WaitFor(t, 20*time.Second, func() bool { return ready(tt.NATMetrics(t, env, "nat")) }, "the %d pooled connections through the NAT", n)
	f := newFault(t, env, "nat-config", "nat", params)
	inject(t, env, f)
	if took := time.Since(start); took > 7*time.Second {
		t.Fatalf("the change came %s into a 10s load: too late to judge its effects on this machine now", took.Round(time.Millisecond))
	}
	predicted := maps.Clone(f.(chaos.Reporter).Report())
	return f, predicted, wait().Total.Counts
}

// Dynamic port allocation turned off after two VMs grew to 128 ports
// under 80 busy connections each: each restarts at its 64 first ports, so
// the 16 a VM on the upper half are reset (32), as predicted, observed
// and seen by the clients; none times out.
func checkNATConfigDPAOff(t *testing.T, env chaos.Env) {
	grown := func(m natcfg.Metrics) bool { return m.GCP != nil && m.GCP.OpenConnections == 160 }
	f, predicted, c := changeUnderLoad(t, env, 160, 5*time.Second, grown, map[string]any{"enable_dynamic_port_allocation": false})
	assert.Equal(t, 32, predicted["predicted_resets"], pretty(predicted))
	assert.Equal(t, uint64(32), c.Of(loadgen.OutcomeReset), pretty(c))
	assert.Zero(t, c.Of(loadgen.OutcomeReadTimeout), pretty(c))
	revert(t, env, f)
	assert.Equal(t, 32, f.(chaos.Reporter).Report()["observed_resets"])
}

// Turning endpoint-independent mapping on leaves every VM's block where
// it is: no connection is predicted, reset or dropped, and the 80 go on.
func checkNATConfigEIMOn(t *testing.T, env chaos.Env) {
	up := func(m natcfg.Metrics) bool { return m.GCP != nil && m.GCP.OpenConnections == 80 }
	f, predicted, c := changeUnderLoad(t, env, 80, 5*time.Second, up, map[string]any{"enable_endpoint_independent_mapping": true})
	assert.Equal(t, 0, predicted["predicted_resets"], pretty(predicted))
	assert.Equal(t, 0, predicted["predicted_dropped"], pretty(predicted))
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK), "every request answered: %s", pretty(c))
	assert.Equal(t, uint64(80), c.NewConns, "no connection was made again")
	revert(t, env, f)
	rep := f.(chaos.Reporter).Report()
	assert.Equal(t, 0, rep["observed_resets"], pretty(rep))
	assert.Equal(t, 0, rep["observed_dropped"], pretty(rep))
}

// Removing one of two NAT IPs (linux) under 48 busy connections from 16
// addresses: the answers to the connections on the removed IP are
// dropped (no RST), so exactly those time out on read, as many as the NAT
// predicted and observed; every other request is answered.
func checkNATConfigRemoveIP(t *testing.T, env chaos.Env) {
	up := func(m natcfg.Metrics) bool { return m.ConntrackEntries >= 48 }
	// No reset comes: 1.5 s is long past any answer (milliseconds).
	f, predicted, c := changeUnderLoad(t, env, 48, 1500*time.Millisecond, up, map[string]any{"ips": 1})
	dropped, _ := predicted["predicted_dropped"].(int)
	// The kernel spreads the flows over both IPs by a hash of source and
	// destination: all 48 on one IP has odds of 2^-15 with 16 sources.
	require.True(t, dropped > 0 && dropped < 48, "%d of the 48 predicted on the removed IP: %s", dropped, pretty(predicted))
	assert.Equal(t, 0, predicted["predicted_resets"], pretty(predicted))
	assert.Equal(t, uint64(dropped), c.Of(loadgen.OutcomeReadTimeout), "the clients of the removed IP time out on read: %s", pretty(c))
	assert.Zero(t, c.Of(loadgen.OutcomeReset), "a dropped answer is no RST: %s", pretty(c))
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK)+uint64(dropped), "every other request was answered: %s", pretty(c))
	revert(t, env, f)
	assert.Equal(t, dropped, f.(chaos.Reporter).Report()["observed_dropped"])
}
