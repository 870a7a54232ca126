package testbedtest

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natcfg"
	"github.com/natlab/natlab/testbed/service"
)

// EIMSpec is one gcp-cloud-nat NAT (1 NAT IP, 64 ports a VM) with
// endpoint-independent mapping, one client host "client" with one
// address, and two public UDP echo backends "stun1" and "stun2" on 3478.
func EIMSpec() testbed.Spec {
	return testbed.Spec{
		NATs: []testbed.NATSpec{{IPs: 1, Profile: testbed.ProfileGCPCloudNAT,
			GCP: &testbed.GCPCloudNAT{MinPortsPerVM: 64, EnableEndpointIndependentMapping: true}}},
		Clients: []testbed.ClientSpec{{Name: "client", Addresses: 1}},
		Backends: []testbed.BackendSpec{
			{Name: "stun1", Protocol: service.UDPEcho, Port: 3478},
			{Name: "stun2", Protocol: service.UDPEcho, Port: 3478},
		},
	}
}

// CheckEIMOneMapping sends UDP from one internal ip:port (the client's
// address, source port 40000) to stun1 and then to stun2 of an EIMSpec
// testbed, and checks that both backends saw every datagram from one and
// the same NAT ip:port, in the VM's block; no datagram is dropped as a
// conflict.
func CheckEIMOneMapping(t *testing.T, tb *testbed.Testbed) {
	t.Helper()
	vm := Sources(tb.Run.Layout, "client")[0]
	natIP := tb.Run.Layout.NATs[0].IPs[0]
	for _, b := range []string{"stun1", "stun2"} {
		// Every attempt opens a socket on port 40000 (a range of one), so
		// every datagram leaves from vm:40000; one closed-loop worker, so
		// no two sockets want the port at once.
		plan := OpenPlan(Target(t, tb.Run.Layout, b, 3478), loadgen.Strategy{Kind: loadgen.KindUDP, LocalPorts: "40000-40000"}, 0, time.Second)
		plan.Phases[0].Schedule = loadgen.Schedule{Kind: loadgen.ScheduleClosed, Concurrency: 1}
		plan.Sources = []netip.Addr{vm}
		r := Load(t, tb, "client", plan)
		c := r.Total.Counts
		require.NotZero(t, c.Attempts, Pretty(c))
		require.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK), "every datagram to %s answered: %s", b, Pretty(c))
	}
	m := NATMetrics(t, tb, "nat")
	require.NotNil(t, m.GCP, "no gcp-cloud-nat reading")
	var block [2]uint16
	for _, v := range m.GCP.VMs {
		if v.VM == vm {
			block = [2]uint16{v.Ports.First, v.Ports.Last}
		}
	}
	require.NotZero(t, block[1], "no block of VM %s in %s", vm, Pretty(m.GCP.VMs))
	var ports []uint16
	for _, b := range []string{"stun1", "stun2"} {
		st := BackendStats(t, tb, b)
		require.Len(t, st, 1)
		p := st[0].Peers
		assert.Equal(t, []string{natIP.String()}, p.IPs, "%s saw only the NAT IP", b)
		assert.Equal(t, p.MinPort, p.MaxPort, "%s saw one NAT port", b)
		assert.GreaterOrEqual(t, p.MinPort, block[0], "%s: the port is in the VM's block", b)
		assert.LessOrEqual(t, p.MinPort, block[1], "%s: the port is in the VM's block", b)
		ports = append(ports, p.MinPort)
	}
	assert.Equal(t, ports[0], ports[1], "both backends saw vm:40000 from one NAT ip:port")
	assert.Zero(t, m.GCP.DroppedSent[natcfg.ReasonEndpointIndependenceConflict], "no conflict")
}

// CheckEIMConflict makes an endpoint-independence conflict through the
// whole testbed of an EIMSpec and checks it is counted exactly: X, the
// client's address with source port 40000, reaches stun1 from N:q (q, a
// port of the VM's block, is what stun1 saw); Z, the same address with
// source port q, reaches stun2 and keeps its port there (the kernel keeps
// a source port that is in range and free). X's flow to stun2 must leave
// from N:q, which Z's flow holds there: every datagram of it is dropped
// as ENDPOINT_INDEPENDENCE_CONFLICT, one per attempt, while Z still gets
// its answers.
func CheckEIMConflict(t *testing.T, tb *testbed.Testbed) {
	t.Helper()
	vm := Sources(tb.Run.Layout, "client")[0]
	// Z binds a port of the block (1024-1087): let the client's sockets
	// take any port. The sysctl dies with the client's namespace.
	require.NoError(t, tb.Agent("client").Call(context.Background(), wire.OpSysctlSet,
		[]natcfg.Sysctl{{Key: "net.ipv4.ip_local_port_range", Value: "1024 65535"}}, nil))
	send := func(backend string, port uint16, d, timeout time.Duration) loadgen.Counts {
		t.Helper()
		plan := OpenPlan(Target(t, tb.Run.Layout, backend, 3478),
			loadgen.Strategy{Kind: loadgen.KindUDP, LocalPorts: fmt.Sprintf("%d-%d", port, port)}, 0, d)
		// One closed-loop worker: no two sockets want the port at once.
		plan.Phases[0].Schedule = loadgen.Schedule{Kind: loadgen.ScheduleClosed, Concurrency: 1}
		plan.Sources = []netip.Addr{vm}
		plan.RequestTimeout = timeout
		return Load(t, tb, "client", plan).Total.Counts
	}
	seenBy := func(backend string) uint16 {
		t.Helper()
		st := BackendStats(t, tb, backend)
		require.Len(t, st, 1)
		p := st[0].Peers
		require.Equal(t, p.MinPort, p.MaxPort, "%s saw one NAT port: %s", backend, Pretty(p))
		return p.MinPort
	}
	c := send("stun1", 40000, 300*time.Millisecond, time.Second)
	require.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK), "X to stun1: %s", Pretty(c))
	q := seenBy("stun1")
	c = send("stun2", q, 300*time.Millisecond, time.Second)
	require.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK), "Z to stun2: %s", Pretty(c))
	require.Equal(t, q, seenBy("stun2"), "Z keeps its port %d at stun2", q)

	before := NATMetrics(t, tb, "nat").GCP.DroppedSent[natcfg.ReasonEndpointIndependenceConflict]
	// Each attempt sends one datagram and waits 200 ms for an answer
	// that cannot come.
	c = send("stun2", 40000, time.Second, 200*time.Millisecond)
	require.NotZero(t, c.Attempts)
	assert.Zero(t, c.Of(loadgen.OutcomeOK), "X to stun2: %s", Pretty(c))
	after := NATMetrics(t, tb, "nat").GCP
	t.Logf("X to stun2 while Z holds N:%d there: %d attempts (%v), %d ENDPOINT_INDEPENDENCE_CONFLICT drops",
		q, c.Attempts, c.Outcomes, after.DroppedSent[natcfg.ReasonEndpointIndependenceConflict]-before)
	assert.Equal(t, c.Attempts, after.DroppedSent[natcfg.ReasonEndpointIndependenceConflict]-before,
		"one ENDPOINT_INDEPENDENCE_CONFLICT per datagram of X to stun2: %s", Pretty(c))
	assert.Zero(t, after.DroppedSent[natcfg.ReasonOutOfResources], "the block has room")
	assert.Equal(t, q, seenBy("stun2"), "stun2 never saw X from another port")
	c = send("stun2", q, 300*time.Millisecond, time.Second)
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK), "Z to stun2 after the conflict: %s", Pretty(c))
}
