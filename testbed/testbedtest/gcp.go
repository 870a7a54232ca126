package testbedtest

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natcfg"
	"github.com/natlab/natlab/testbed/sampler"
	"github.com/natlab/natlab/testbed/service"
)

// The Cloud NAT checks run on every testbed backend (testbed/netns and
// docker), each on a testbed the caller brings up from CloudNATSpec.

// CloudNATSpec is one gcp-cloud-nat NAT with one NAT IP, one client host with
// addresses source addresses (each a VM, and its link address one more)
// and a TCP echo backend on 8080 and 8081.
func CloudNATSpec(g testbed.GCPCloudNAT, addresses int) testbed.Spec {
	return testbed.Spec{
		NATs:    []testbed.NATSpec{{IPs: 1, Profile: testbed.ProfileGCPCloudNAT, GCP: &g}},
		Clients: []testbed.ClientSpec{{Name: "client", Addresses: addresses}},
		Backends: []testbed.BackendSpec{{Name: "api", Protocol: service.TCPEcho, Port: 8080,
			Extra: []testbed.BackendListener{{Protocol: service.TCPEcho, Port: 8081}}}},
	}
}

// holdFrom keeps n connections open from srcs (round robin) to tgt for d.
func holdFrom(tgt string, srcs []netip.Addr, n int, d, connectTimeout time.Duration) loadgen.Plan {
	p := HoldPlan(tgt, n, d)
	p.Sources = srcs
	p.ConnectTimeout = connectTimeout
	return p
}

func vmOf(t *testing.T, m natcfg.Metrics, vm netip.Addr) natcfg.VMMetrics {
	t.Helper()
	require.NotNil(t, m.GCP, "no gcp-cloud-nat reading")
	for _, v := range m.GCP.VMs {
		if v.VM == vm {
			return v
		}
	}
	t.Fatalf("no reading of VM %s", vm)
	return natcfg.VMMetrics{}
}

// CheckCloudNATOutOfResources: Cloud NAT without dynamic port allocation (a
// CloudNATSpec of MinPortsPerVM 64 and 10 addresses): 10 VMs with 64 ports each
// hold 80 connections each to one destination. Exactly 64 of each VM's
// connect, the other 16 time out: their SYNs are dropped as
// OUT_OF_RESOURCES, three each (the first and the retransmits at 1 s and
// 2 s: Linux backs off linearly for the first SYN retransmits,
// tcp_syn_linear_timeouts) before the kernel gives up 2.5 s after the
// first SYN, although the NAT IP has 64,512 ports and the VMs' blocks
// take 704. A VM with room still connects meanwhile.
func CheckCloudNATOutOfResources(t *testing.T, tb *testbed.Testbed) {
	vms := Sources(tb.Run.Layout, "client")
	require.Len(t, vms, 10)
	tgt := Target(t, tb.Run.Layout, "api", 8080)
	// Three SYNs per failed connect need the handshake to end after the
	// third (2 s after the first) and before the fourth (3 s). A dialer's
	// deadline starts before the connect() that sends the first SYN and
	// ends when a loaded process gets to it: with 800 dials at once under
	// -race at -p 4, 464 of 480 SYNs were sent with a 2.9 s connect
	// timeout. The kernel's own timer, 2.5 s after the first SYN
	// (Plan.SYNTimeout), is what the figure assumes; the dialer's 4 s only
	// bounds it.
	plan := holdFrom(tgt, vms, 800, 6*time.Second, 4*time.Second)
	plan.SYNTimeout = 2500 * time.Millisecond
	wait := LoadAsync(t, tb, "client", plan)
	full := func() bool {
		m := NATMetrics(t, tb, "nat")
		for _, vm := range vms {
			if m.GCP == nil || vmOf(t, m, vm).PortUsage < 64 {
				return false
			}
		}
		return true
	}
	// full reads metrics through require: it is polled in the test's
	// goroutine, with a deadline for a loaded machine, not a speed claim.
	WaitFor(t, 20*time.Second, full, "every VM's block should fill")
	// The other VM's ten hold 3 s: a hold's phase cancels the dials it
	// has not finished, and on a loaded client one of ten was still
	// dialing when a 1 s phase ended (CI: 9 ok, 1 cancelled, no drop at
	// the NAT). 3 s also leaves room for one SYN retransmit.
	link := tb.Run.Layout.Hosts[0].Link
	other := Load(t, tb, "client", holdFrom(tgt, []netip.Addr{link}, 10, 3*time.Second, 2500*time.Millisecond))
	assert.Equal(t, uint64(10), other.Total.Counts.Of(loadgen.OutcomeOK), "a VM with free ports connects: %s", Pretty(other.Total.Counts))

	c := wait().Total.Counts
	assert.Equal(t, uint64(640), c.Of(loadgen.OutcomeOK), Pretty(c))
	assert.Equal(t, uint64(160), c.Of(loadgen.OutcomeConnectTimeout), Pretty(c))
	assert.Zero(t, c.Of(loadgen.OutcomeRefused)+c.Of(loadgen.OutcomeReset), "out of ports is a silent drop")

	m := NATMetrics(t, tb, "nat")
	assert.Equal(t, uint64(480), m.GCP.DroppedSent[natcfg.ReasonOutOfResources], "three SYNs of each of the 160 failed connects")
	for _, vm := range vms {
		v := vmOf(t, m, vm)
		assert.Equal(t, 64, v.AllocatedPorts, "VM %s", vm)
		assert.Equal(t, 64, v.PortUsage, "VM %s: closed connections hold their ports for the TIME_WAIT timeout", vm)
		assert.Equal(t, uint64(48), v.Dropped, "VM %s", vm)
	}
	assert.Equal(t, 64, vmOf(t, m, link).AllocatedPorts)
	assert.False(t, m.GCP.AllocationFailed, "static allocation never fails to allocate: the VMs are at their minimum")
	assert.Equal(t, uint64(650), m.GCP.NewConnections)
	assert.GreaterOrEqual(t, m.AllocationFailures, uint64(480), "the generic allocation failures include Cloud NAT's drops")
}

// CheckCloudNATDynamicPortAllocation: with dynamic port allocation and
// max_ports_per_vm 128 (a CloudNATSpec of 10 addresses) the same load all
// connects: each VM's allocation grows from 64 to 128 (the SYNs dropped
// before it did are retransmitted into the bigger block), as the samples
// show; the idle VM keeps its 64.
func CheckCloudNATDynamicPortAllocation(t *testing.T, tb *testbed.Testbed) {
	vms := Sources(tb.Run.Layout, "client")
	smp, err := sampler.New(tb, sampler.Options{Tick: 200 * time.Millisecond, NATs: []string{"nat"}})
	require.NoError(t, err)
	before := NATMetrics(t, tb, "nat")
	ctx, stop := context.WithCancel(context.Background())
	done, based := make(chan struct{}), make(chan struct{})
	go func() { defer close(done); _ = smp.Run(ctx, time.Now(), based) }()
	<-based // the baseline, before any load
	// 5 s to connect: SYNs are retransmitted at 1, 2, 3 and 4 s, so a
	// slow round of the allocator on a busy machine is not a failure.
	res := Load(t, tb, "client", holdFrom(Target(t, tb.Run.Layout, "api", 8080), vms, 800, 7*time.Second, 5*time.Second))
	stop()
	<-done

	c := res.Total.Counts
	m := NATMetrics(t, tb, "nat")
	assert.Equal(t, uint64(800), c.Of(loadgen.OutcomeOK), "%s\n%s", Pretty(c), Pretty(m.GCP))
	samples := smp.Samples()
	require.GreaterOrEqual(t, len(samples), 10)
	first, last := samples[0].NATs[0].GCP, samples[len(samples)-1].NATs[0].GCP
	require.NotNil(t, first)
	require.NotNil(t, last)
	for _, vm := range vms {
		assert.Equal(t, 64, first.AllocatedPorts[vm.String()], "VM %s starts at min_ports_per_vm", vm)
		assert.Equal(t, 128, last.AllocatedPorts[vm.String()], "VM %s grew to max_ports_per_vm", vm)
		assert.Equal(t, 80, last.PortUsage[vm.String()], "VM %s", vm)
	}
	link := tb.Run.Layout.Hosts[0].Link.String()
	assert.Equal(t, 64, last.AllocatedPorts[link], "an idle VM keeps its minimum")
	// A SYN dropped as OUT_OF_RESOURCES is no connection; one that lost
	// a race for its port to a SYN on the other CPU (insert_failed) was
	// counted before its retransmit got through.
	assert.Equal(t, 800+(m.InsertFailed-before.InsertFailed), last.NewConnections, "insert_failed %d -> %d", before.InsertFailed, m.InsertFailed)
	for _, s := range samples {
		if g := s.NATs[0].GCP; g != nil {
			assert.False(t, g.AllocationFailed, "at %s: every block had room to double", s.At)
		}
	}
}

// CheckCloudNATPortsArePerDestination: ports are per destination; one VM
// (a CloudNATSpec of MinPortsPerVM 64 and 1 address) with 64 ports holds 64 connections to
// each of two destinations at once.
func CheckCloudNATPortsArePerDestination(t *testing.T, tb *testbed.Testbed) {
	vm := Sources(tb.Run.Layout, "client")
	w1 := LoadAsync(t, tb, "client", holdFrom(Target(t, tb.Run.Layout, "api", 8080), vm, 64, 3*time.Second, 2500*time.Millisecond))
	w2 := LoadAsync(t, tb, "client", holdFrom(Target(t, tb.Run.Layout, "api", 8081), vm, 64, 3*time.Second, 2500*time.Millisecond))
	rs := []*loadgen.Result{w1(), w2()}
	for _, r := range rs {
		assert.Equal(t, uint64(64), r.Total.Counts.Of(loadgen.OutcomeOK), Pretty(r.Total.Counts))
	}
	m := NATMetrics(t, tb, "nat")
	assert.Zero(t, m.GCP.DroppedSent[natcfg.ReasonOutOfResources])
	assert.Equal(t, 64, vmOf(t, m, vm[0]).PortUsage, "port usage is the most to one destination")
}

// CheckCloudNATTimeWait: a closed connection holds its port for
// tcp_time_wait_timeout_sec, so a VM with 64 ports sustains 64/timeout
// unpooled connections a second: 16/s at 4 s, 32/s at 2 s. At half the
// rate, for long enough that every port is used more than once, all
// connect and nothing is dropped: half, so that a port may stay taken up
// to twice the timeout (a connection that closes late on a loaded
// machine, a conntrack entry that outlives the hold) without a drop.
// Above the rate, the first 64 connect and the rest are dropped, each SYN
// and its one retransmit 1 s later, before any hold ends: the load lasts
// at most the hold less 1.5 s (the retransmit and 0.5 s to spare).
// Halving the timeout doubles the rate.
func CheckCloudNATTimeWait(t *testing.T, up func(testing.TB, testbed.Spec) *testbed.Testbed) {
	for _, tc := range []struct {
		name     string
		timeWait int
		rate     int
		d        time.Duration
		ok       uint64
	}{
		{"4s hold at 8/s (under 16/s)", 4, 8, 12 * time.Second, 96},
		{"4s hold at 32/s (over 16/s)", 4, 32, 2500 * time.Millisecond, 64},
		{"2s hold at 16/s (under 32/s)", 2, 16, 6 * time.Second, 96},
		{"2s hold at 192/s (over 32/s)", 2, 192, 500 * time.Millisecond, 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := up(t, CloudNATSpec(testbed.GCPCloudNAT{MinPortsPerVM: 64, TCPTimeWaitTimeoutSec: tc.timeWait}, 1))
			plan := OpenPlan(Target(t, tb.Run.Layout, "api", 8080), loadgen.Strategy{Kind: loadgen.KindTCP, Pool: loadgen.PoolNone}, tc.rate, tc.d)
			plan.Sources = Sources(tb.Run.Layout, "client")
			// The kernel ends a handshake 1.5 s after its first SYN, so a
			// dropped SYN is retransmitted exactly once (at 1 s; the
			// kernel always sends that one) and never a second time
			// (2 s). A dialer's own deadline under 1 s was meant to send
			// one SYN, but a loaded process closed the socket late
			// enough for the retransmit to find a freed port (65 ok of
			// 64 under -race at -p 4). The dialer's 3 s only bounds it.
			plan.SYNTimeout = 1500 * time.Millisecond
			plan.ConnectTimeout = 3 * time.Second
			before := NATMetrics(t, tb, "nat")
			c := Load(t, tb, "client", plan).Total.Counts
			attempts := uint64(float64(tc.rate) * tc.d.Seconds())
			require.Equal(t, attempts, c.Attempts, Pretty(c))
			assert.Equal(t, tc.ok, c.Of(loadgen.OutcomeOK), Pretty(c))
			assert.Equal(t, attempts-tc.ok, c.Of(loadgen.OutcomeConnectTimeout), Pretty(c))
			m := NATMetrics(t, tb, "nat")
			// A SYN for a VM whose every port is held is dropped one of
			// two ways, as the kernel's port search goes: mapped onto a
			// port whose TIME_WAIT entry it evicts, then dropped by the
			// hold (OUT_OF_RESOURCES), or finding every port of the block
			// still tracked, so that the mapping fails (insert_failed;
			// the same packet also counts as drop). Seen on docker under
			// a load average of 19: 40 and 24 of 64. Their sum is every
			// SYN the NAT dropped, two per failed connect.
			oor := m.GCP.DroppedSent[natcfg.ReasonOutOfResources] - before.GCP.DroppedSent[natcfg.ReasonOutOfResources]
			failedMap := m.InsertFailed - before.InsertFailed
			assert.Equal(t, 2*(attempts-tc.ok), oor+failedMap, "each failed connect is two SYNs dropped for want of a port: out_of_resources %d, insert_failed %d; new connections %d", oor, failedMap, m.GCP.NewConnections-before.GCP.NewConnections)
		})
	}
}
