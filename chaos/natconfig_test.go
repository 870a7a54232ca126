package chaos_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ti-mo/conntrack"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/chaos"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natcfg"
	"github.com/natlab/natlab/testbed/service"
	tt "github.com/natlab/natlab/testbed/testbedtest"
)

// observer is the nat-config fault's reading of what the kernel did.
type observer interface {
	Observe(ctx context.Context, env chaos.Env) (natcfg.ChangeObserved, error)
	Result() natcfg.ChangeResult
}

// cloudNATSpec is one gcp-cloud-nat NAT with one NAT IP, one client host
// whose addresses are VMs (its link address is one more) and a TCP echo
// backend api on 8080.
func cloudNATSpec(g testbed.GCPCloudNAT, addresses int) testbed.Spec {
	return testbed.Spec{
		NATs:     []testbed.NATSpec{{IPs: 1, Profile: testbed.ProfileGCPCloudNAT, GCP: &g}},
		Clients:  []testbed.ClientSpec{{Name: "client", Addresses: addresses}},
		Backends: []testbed.BackendSpec{{Name: "api", Protocol: service.TCPEcho, Port: 8080}},
	}
}

// busyPool keeps n pooled connections busy from srcs (round robin: n/len
// per source) for d: n closed-loop workers over a pool of n, so every
// connection carries a request again within moments of any change, and
// one whose port is taken away meets the change on its next packet.
// Connects have room for SYN retransmits (1 s apart) after a port race.
// A request in flight at the change still gets its answer (a reset flow
// keeps its entry until its reset is sent); the next one meets the reset.
// An answer takes milliseconds: 5 s of request timeout is only ever a
// lost one, and leaves room for a retransmit's RTO should a packet be
// lost on a loaded machine.
func busyPool(tgt string, srcs []netip.Addr, n int, d time.Duration) loadgen.Plan {
	return loadgen.Plan{
		Target:         tgt,
		Sources:        srcs,
		Strategy:       loadgen.Strategy{Kind: loadgen.KindTCP, Pool: loadgen.PoolKeepAlive, PoolSize: n},
		Phases:         []loadgen.Phase{{Name: "p", Duration: d, Schedule: loadgen.Schedule{Kind: loadgen.ScheduleClosed, Concurrency: n}}},
		ConnectTimeout: 2500 * time.Millisecond,
		RequestTimeout: 5 * time.Second,
	}
}

// busyFor is how long busyPool loads run: the connections are up within
// a few seconds, and the change needs the load to go on after it (inTime).
const busyFor = 10 * time.Second

// inTime fails the test when the change came too late into a load of
// busyFor for its effects to be judged: a reset the pool meets after its
// last attempt is no outcome. A machine that took longer than 7 s to
// bring up the connections is too loaded to judge anything.
func inTime(t *testing.T, start time.Time) {
	t.Helper()
	if took := time.Since(start); took > busyFor-3*time.Second {
		t.Fatalf("the change came %s into a %s load: too late to judge its effects on this machine now", took.Round(time.Millisecond), busyFor)
	}
}

// blockOf is the first block of VM vm in cfg.
func blockOf(t testing.TB, cfg natcfg.Config, vm netip.Addr) natcfg.Slice {
	t.Helper()
	for _, s := range cfg.Pools[0].Slices {
		if s.Source == vm {
			return s
		}
	}
	t.Fatalf("no block of VM %s in %s", vm, pretty(cfg))
	return natcfg.Slice{}
}

// established waits until the n pooled connections are in the NAT's
// conntrack, established, and returns them.
func established(t *testing.T, ct *conntrack.Conn, api netip.Addr, n int) map[netip.AddrPort]ctEntry {
	t.Helper()
	var flows map[netip.AddrPort]ctEntry
	tt.WaitFor(t, 20*time.Second, func() bool {
		flows = flowsTo(t, ct, api, 8080)
		up := 0
		for _, e := range flows {
			if e.state == 3 { // TCP_CONNTRACK_ESTABLISHED
				up++
			}
		}
		return up == n && len(flows) == n
	}, "the %d pooled connections established through the NAT", n)
	return flows
}

// Lowering min_ports_per_vm from 256 to 64 under 400 busy pooled
// connections (200 from each of two VMs) resets exactly the connections
// whose NAT port lies outside the VM's new block, the first 64 ports of
// its old one: the NAT agent's prediction from conntrack, the resets the
// kernel sent (one per flow) and the resets the clients saw are the same
// figure, and it is the figure the test reads from conntrack itself. The
// kept connections go on echoing (no read timeout). Revert changes back
// (nothing to reset: the new connections lie inside the old blocks) and
// Verify sees the recorded config; a config changed behind its back fails
// Verify.
func TestNATConfigLowerMinPortsResetsBeyondNewBlock(t *testing.T) {
	t.Parallel()
	tb, env := up(t, cloudNATSpec(testbed.GCPCloudNAT{MinPortsPerVM: 256}, 2))
	vms := tt.Sources(env.Layout(), "client")
	require.Len(t, vms, 2)
	api, _ := env.Layout().Backend("api")
	base := natCfg(t, env)
	ct := natConntrack(t, tb)

	start := time.Now()
	wait := loadAsync(t, env, "client", busyPool(target(t, env, "api", 8080), vms, 400, busyFor))
	before := established(t, ct, api.Addr, 400)
	want := 0
	perVM := map[netip.Addr]int{}
	for c, e := range before {
		perVM[c.Addr()]++
		b := blockOf(t, base, c.Addr())
		if e.natPort < b.Ports.First || e.natPort > b.Ports.First+63 {
			want++
		}
	}
	for _, vm := range vms {
		require.Equal(t, 200, perVM[vm], "VM %s holds 200", vm)
	}
	t.Logf("%d of the 400 connections are on ports beyond their VM's first 64", want)

	f := newFault(t, env, "nat-config", "nat", map[string]any{"min_ports_per_vm": 64})
	ctx := context.Background()
	require.NoError(t, f.Inject(ctx, env))
	inTime(t, start)
	t.Cleanup(func() { _ = f.Revert(ctx, env) })
	res := f.(observer).Result()
	marked, err := f.(observer).Observe(ctx, env)
	require.NoError(t, err)
	t.Logf("right after the change: %s", pretty(marked))
	assert.Equal(t, want, res.PredictedResets, "predicted from conntrack: %s", pretty(res))
	assert.Zero(t, res.Removed, "a reset flow's entry stays until the reset is sent")
	assert.Zero(t, res.PredictedDropped)
	for _, vm := range vms {
		got := natMetrics(t, env, "nat")
		for _, v := range got.GCP.VMs {
			if v.VM == vm {
				assert.Equal(t, 64, v.AllocatedPorts, "VM %s restarts at the new minimum", vm)
				assert.Equal(t, blockOf(t, base, vm).Ports.First, v.Ports.First, "VM %s keeps the start of its ports", vm)
			}
		}
	}

	c := wait().Total.Counts
	t.Logf("outcomes %s", pretty(c.Outcomes))
	obs, err := f.(observer).Observe(ctx, env)
	require.NoError(t, err)
	assert.Equal(t, want, obs.Resets, "resets the kernel sent, one per flow")
	assert.Equal(t, uint64(want), c.Of(loadgen.OutcomeReset), "every connection beyond the new blocks was reset, and no other: %s", pretty(c))
	assert.Zero(t, c.Of(loadgen.OutcomeReadTimeout), "the kept connections went on: %s", pretty(c))
	assert.Zero(t, obs.Dropped)
	// Once reset, a flow's entry goes (the reaper), and with it the old port.
	stale := func() int {
		n := 0
		for cl, e := range flowsTo(t, ct, api.Addr, 8080) {
			b := blockOf(t, base, cl.Addr())
			if e.state == 3 && (e.natPort < b.Ports.First || e.natPort > b.Ports.First+63) {
				n++
			}
		}
		return n
	}
	tt.WaitFor(t, 5*time.Second, func() bool { return stale() == 0 }, "no established entry left on a port beyond the new blocks")

	require.NoError(t, f.Revert(ctx, env))
	rep := f.(chaos.Reporter).Report()
	assert.Equal(t, want, rep["observed_resets"])
	assert.Equal(t, 0, rep["revert_predicted_resets"], "the connections made meanwhile lie inside the old blocks")
	require.NoError(t, f.Verify(ctx, env))
	after := natCfg(t, env)
	after.PortSelection = natcfg.PortSelectionRandom
	require.NoError(t, env.Agent("nat").Call(ctx, wire.OpNATApply, after, nil))
	require.ErrorContains(t, f.Verify(ctx, env), "nat config on nat differs from before the inject")
}

// Turning dynamic port allocation off, with every VM grown from 64 to 128
// ports by 80 busy connections each: each VM restarts at its minimum of
// 64, on the first ports of its block, so exactly the connections on the
// upper half (16 a VM: the first 64 filled the block before it grew) are
// reset, as predicted and observed.
func TestNATConfigDPAOffResetsGrownPorts(t *testing.T) {
	t.Parallel()
	tb, env := up(t, cloudNATSpec(testbed.GCPCloudNAT{MinPortsPerVM: 64, MaxPortsPerVM: 128, EnableDynamicPortAllocation: true}, 2))
	vms := tt.Sources(env.Layout(), "client")
	api, _ := env.Layout().Backend("api")
	base := natCfg(t, env)
	ct := natConntrack(t, tb)

	start := time.Now()
	wait := loadAsync(t, env, "client", busyPool(target(t, env, "api", 8080), vms, 160, busyFor))
	before := established(t, ct, api.Addr, 160)
	want := 0
	for c, e := range before {
		b := blockOf(t, base, c.Addr())
		if e.natPort > b.Ports.Last {
			want++
		}
	}
	assert.Equal(t, 32, want, "16 of each VM's 80 are on the upper half of its grown block")

	f := newFault(t, env, "nat-config", "nat", map[string]any{"enable_dynamic_port_allocation": false})
	ctx := context.Background()
	require.NoError(t, f.Inject(ctx, env))
	inTime(t, start)
	t.Cleanup(func() { _ = f.Revert(ctx, env) })
	assert.Equal(t, want, f.(observer).Result().PredictedResets)

	c := wait().Total.Counts
	obs, err := f.(observer).Observe(ctx, env)
	require.NoError(t, err)
	t.Logf("outcomes %s, observed %s", pretty(c.Outcomes), pretty(obs))
	assert.Equal(t, want, obs.Resets)
	assert.Equal(t, uint64(want), c.Of(loadgen.OutcomeReset), pretty(c))
	assert.Zero(t, c.Of(loadgen.OutcomeReadTimeout), pretty(c))
	require.NoError(t, f.Revert(ctx, env))
	require.NoError(t, f.Verify(ctx, env))
}

// Removing a NAT IP (linux profile, ips 2 -> 1) under 48 busy pooled
// connections from 16 addresses: the kernel spreads them over both IPs by
// a hash of source and destination; the connections on the removed IP
// keep their entries, so their requests still leave from it, but the
// answers are dropped before de-NAT: exactly those clients time out on
// read (no RST), every other connection keeps echoing. Predicted,
// observed and the clients' read timeouts are the count the test reads
// from conntrack.
func TestNATConfigRemoveIPDropsItsReturnTraffic(t *testing.T) {
	t.Parallel()
	spec := oneNAT(testbed.NATSpec{IPs: 2})
	spec.Clients[0].Addresses = 16
	tb, env := up(t, spec)
	srcs := tt.Sources(env.Layout(), "client")
	api, _ := env.Layout().Backend("api")
	nl, _ := env.Layout().NAT("nat")
	ct := natConntrack(t, tb)

	// No reset comes: 1.5 s is long past any answer (milliseconds).
	plan := busyPool(target(t, env, "api", 8080), srcs, 48, busyFor)
	plan.RequestTimeout = 1500 * time.Millisecond
	start := time.Now()
	wait := loadAsync(t, env, "client", plan)
	established(t, ct, api.Addr, 48)
	flows, err := ct.Dump(nil)
	require.NoError(t, err)
	want := 0
	for _, fl := range flows {
		if fl.TupleOrig.IP.DestinationAddress == api.Addr && fl.TupleReply.IP.DestinationAddress == nl.IPs[1] {
			want++
		}
	}
	// The hash is the kernel's (jhash of source and destination): with 16
	// sources all on one IP has odds of 2^-15.
	require.True(t, want > 0 && want < 48, "the hash put %d of the 48 on the second NAT IP: the test needs both IPs in use", want)

	f := newFault(t, env, "nat-config", "nat", map[string]any{"ips": 1})
	ctx := context.Background()
	require.NoError(t, f.Inject(ctx, env))
	inTime(t, start)
	t.Cleanup(func() { _ = f.Revert(ctx, env) })
	res := f.(observer).Result()
	assert.Equal(t, want, res.PredictedDropped, pretty(res))
	assert.Zero(t, res.PredictedResets)

	c := wait().Total.Counts
	obs, err := f.(observer).Observe(ctx, env)
	require.NoError(t, err)
	t.Logf("%d on %s; outcomes %s, observed %s", want, nl.IPs[1], pretty(c.Outcomes), pretty(obs))
	assert.Equal(t, want, obs.Dropped, "flows whose answers were dropped, each once")
	assert.Equal(t, uint64(want), c.Of(loadgen.OutcomeReadTimeout), "the clients of the removed IP time out on read: %s", pretty(c))
	assert.Zero(t, c.Of(loadgen.OutcomeReset), "a dropped answer is no RST: %s", pretty(c))
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK)+uint64(want), "every other request was answered: %s", pretty(c))
	require.NoError(t, f.Revert(ctx, env))
	require.NoError(t, f.Verify(ctx, env))
}

// The candidate is judged before anything runs, at its key.
func TestNATConfigRefusesWhatTheProfileRefuses(t *testing.T) {
	spec := cloudNATSpec(testbed.GCPCloudNAT{MinPortsPerVM: 256}, 2)
	spec.Normalize()
	require.NoError(t, spec.Validate())
	for _, tc := range []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{"max_ports_per_vm": 512}, "max_ports_per_vm: max_ports_per_vm can only be set with enable_dynamic_port_allocation: true"},
		{map[string]any{"nat_ips": 2}, "nat_ips: 2 NAT IPs is more than nat has (1 on wan0)"},
		{map[string]any{"ips": 1}, "ips: ips is a setting of profile linux, and nat is gcp-cloud-nat: its settings are nat_ips, enable_dynamic_port_allocation, enable_endpoint_independent_mapping, min_ports_per_vm"},
		{map[string]any{"enable_dynamic_port_allocation": "yes"}, "enable_dynamic_port_allocation: want true or false"},
		{map[string]any{}, "no change given"},
		{map[string]any{"enable_dynamic_port_allocation": true, "max_ports_per_vm": 512, "enable_endpoint_independent_mapping": true},
			"enable_endpoint_independent_mapping: true with enable_dynamic_port_allocation: true: Cloud NAT refuses the two together"},
	} {
		_, err := chaos.New("nat-config", "nat", &spec, tc.params)
		require.Error(t, err, "%v", tc.params)
		assert.Contains(t, err.Error(), tc.want)
	}
}

// Turning dynamic port allocation on, from 64 static ports a VM to 64
// growing to 128: the blocks are laid out on 128-port slots now, so the
// idle link VM (1024-1087) and the second VM (1152-1215) keep their
// ports, while the first VM's old block (1088-1151) lies in the link
// VM's slot: it moves to the next free slot, and every one of its 40
// connections is reset; the second VM's 40 go on.
func TestNATConfigDPAOnMovesAVMAndResetsItsConnections(t *testing.T) {
	t.Parallel()
	tb, env := up(t, cloudNATSpec(testbed.GCPCloudNAT{MinPortsPerVM: 64}, 2))
	vms := tt.Sources(env.Layout(), "client")
	base := natCfg(t, env)
	require.Equal(t, uint16(1088), blockOf(t, base, vms[0]).Ports.First)
	require.Equal(t, uint16(1152), blockOf(t, base, vms[1]).Ports.First)

	start := time.Now()
	wait := loadAsync(t, env, "client", busyPool(target(t, env, "api", 8080), vms, 80, busyFor))
	api, _ := env.Layout().Backend("api")
	established(t, natConntrack(t, tb), api.Addr, 80)

	f := newFault(t, env, "nat-config", "nat", map[string]any{"enable_dynamic_port_allocation": true, "max_ports_per_vm": 128})
	ctx := context.Background()
	require.NoError(t, f.Inject(ctx, env))
	inTime(t, start)
	t.Cleanup(func() { _ = f.Revert(ctx, env) })
	assert.Equal(t, 40, f.(observer).Result().PredictedResets, pretty(f.(observer).Result()))
	m := natMetrics(t, env, "nat")
	for _, v := range m.GCP.VMs {
		switch v.VM {
		case vms[0]:
			assert.Equal(t, uint16(1280), v.Ports.First, "the first VM moved to the first free 128-port slot")
		case vms[1]:
			assert.Equal(t, uint16(1152), v.Ports.First, "the second VM kept its ports")
		}
	}

	c := wait().Total.Counts
	obs, err := f.(observer).Observe(ctx, env)
	require.NoError(t, err)
	t.Logf("outcomes %s, observed %s", pretty(c.Outcomes), pretty(obs))
	assert.Equal(t, 40, obs.Resets)
	assert.Equal(t, uint64(40), c.Of(loadgen.OutcomeReset), pretty(c))
	assert.Zero(t, c.Of(loadgen.OutcomeReadTimeout)+c.Of(loadgen.OutcomeConnectTimeout), "the moved VM reconnects into its new block: %s", pretty(c))
	require.NoError(t, f.Revert(ctx, env))
	require.NoError(t, f.Verify(ctx, env))
}

// A Cloud NAT with two NAT IPs, 16,384 ports a VM (3 VMs fit one IP), and
// four VMs: the link VM and two more on the first IP, the third on the
// second. Down to one NAT IP with 8,192 ports a VM, the third VM moves to
// the first IP: its connections, on the removed IP, lose their return
// traffic (read timeouts); the others keep the first 8,192 ports of their
// blocks, and their connections beyond are reset. Both figures are the
// NAT's prediction, the kernel's count and the clients' outcomes, and
// the ones the test reads from conntrack.
func TestNATConfigFewerCloudNATIPs(t *testing.T) {
	t.Parallel()
	spec := cloudNATSpec(testbed.GCPCloudNAT{MinPortsPerVM: 16384}, 3)
	spec.NATs[0].IPs = 2
	tb, env := up(t, spec)
	vms := tt.Sources(env.Layout(), "client")
	api, _ := env.Layout().Backend("api")
	nl, _ := env.Layout().NAT("nat")
	base := natCfg(t, env)
	require.Equal(t, nl.IPs[1], blockOf(t, base, vms[2]).IP, "the third VM is on the second IP")
	ct := natConntrack(t, tb)

	start := time.Now()
	plan := busyPool(target(t, env, "api", 8080), vms, 48, busyFor)
	// The dropped answers time out within the load: 2 s is long past any
	// answer (milliseconds), and a reset meets a client's next request.
	plan.RequestTimeout = 2 * time.Second
	wait := loadAsync(t, env, "client", plan)
	before := established(t, ct, api.Addr, 48)
	flows, err := ct.Dump(nil)
	require.NoError(t, err)
	natIP := map[netip.AddrPort]netip.Addr{}
	for _, fl := range flows {
		if fl.TupleOrig.IP.DestinationAddress == api.Addr {
			natIP[netip.AddrPortFrom(fl.TupleOrig.IP.SourceAddress, fl.TupleOrig.Proto.SourcePort)] = fl.TupleReply.IP.DestinationAddress
		}
	}
	wantDropped, wantResets := 0, 0
	for c, e := range before {
		b := blockOf(t, base, c.Addr())
		switch {
		case natIP[c] == nl.IPs[1]:
			wantDropped++
		case int(e.natPort) >= int(b.Ports.First)+8192:
			wantResets++
		}
	}
	require.Equal(t, 16, wantDropped, "the third VM's 16")
	t.Logf("%d connections beyond the first 8,192 ports of their VM", wantResets)

	f := newFault(t, env, "nat-config", "nat", map[string]any{"nat_ips": 1, "min_ports_per_vm": 8192})
	ctx := context.Background()
	require.NoError(t, f.Inject(ctx, env))
	inTime(t, start)
	t.Cleanup(func() { _ = f.Revert(ctx, env) })
	res := f.(observer).Result()
	assert.Equal(t, wantDropped, res.PredictedDropped, pretty(res))
	assert.Equal(t, wantResets, res.PredictedResets, pretty(res))
	m := natMetrics(t, env, "nat")
	for _, v := range m.GCP.VMs {
		if v.VM == vms[2] {
			assert.Equal(t, nl.IPs[0], v.NATIP, "the third VM moved to the IP that stays")
		}
	}

	c := wait().Total.Counts
	obs, err := f.(observer).Observe(ctx, env)
	require.NoError(t, err)
	t.Logf("outcomes %s, observed %s", pretty(c.Outcomes), pretty(obs))
	assert.Equal(t, wantDropped, obs.Dropped)
	assert.Equal(t, wantResets, obs.Resets)
	assert.Equal(t, uint64(wantDropped), c.Of(loadgen.OutcomeReadTimeout), pretty(c))
	assert.Equal(t, uint64(wantResets), c.Of(loadgen.OutcomeReset), pretty(c))
	require.NoError(t, f.Revert(ctx, env))
	require.NoError(t, f.Verify(ctx, env))
}

// Turning endpoint-independent mapping on (static allocation: the API
// allows EIM only without DPA) leaves every VM's block where it was, so no
// connection loses its port: nothing is predicted, reset or dropped, and
// the 80 busy connections go on echoing.
func TestNATConfigEIMToggleLeavesConnectionsAlone(t *testing.T) {
	t.Parallel()
	tb, env := up(t, cloudNATSpec(testbed.GCPCloudNAT{MinPortsPerVM: 64}, 2))
	vms := tt.Sources(env.Layout(), "client")
	api, _ := env.Layout().Backend("api")
	start := time.Now()
	wait := loadAsync(t, env, "client", busyPool(target(t, env, "api", 8080), vms, 80, busyFor))
	established(t, natConntrack(t, tb), api.Addr, 80)

	f := newFault(t, env, "nat-config", "nat", map[string]any{"enable_endpoint_independent_mapping": true})
	ctx := context.Background()
	require.NoError(t, f.Inject(ctx, env))
	inTime(t, start)
	t.Cleanup(func() { _ = f.Revert(ctx, env) })
	assert.Equal(t, natcfg.ChangeResult{}, f.(observer).Result())

	c := wait().Total.Counts
	obs, err := f.(observer).Observe(ctx, env)
	require.NoError(t, err)
	t.Logf("outcomes %s, observed %s", pretty(c.Outcomes), pretty(obs))
	assert.Equal(t, natcfg.ChangeObserved{}, obs)
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK), "every request answered: %s", pretty(c))
	assert.Equal(t, uint64(80), c.NewConns, "no connection was made again")
	require.NoError(t, f.Revert(ctx, env))
	require.NoError(t, f.Verify(ctx, env))
}
