package testbedtest

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
