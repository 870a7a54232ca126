package testbedtest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/chaos"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natcfg"
	"github.com/natlab/natlab/testbed/service"
)

// VMsSpec is a Cloud NAT whose one NAT IP holds three blocks (16,384
// ports a VM): web runs 2 VMs (its link and source addresses), more is
// standby with 2 more.
func VMsSpec() testbed.Spec {
	return testbed.Spec{
		NATs:     []testbed.NATSpec{{IPs: 1, Profile: testbed.ProfileGCPCloudNAT, GCP: &testbed.GCPCloudNAT{MinPortsPerVM: 16384}}},
		Clients:  []testbed.ClientSpec{{Name: "web", Addresses: 1}, {Name: "more", Addresses: 1, Standby: true}},
		Backends: []testbed.BackendSpec{{Name: "api", Protocol: service.TCPEcho, Port: 8080}},
	}
}

// connects is 10 connects from client's source address (not its link
// address, a VM of its own) to api in a second, each given 500 ms, and
// their counts.
func connects(t *testing.T, env chaos.Env, client string) loadgen.Counts {
	t.Helper()
	plan := OpenPlan(Target(t, env.Layout(), "api", 8080), loadgen.Strategy{Kind: loadgen.KindTCP}, 10, time.Second)
	plan.Sources = Sources(env.Layout(), client)
	plan.ConnectTimeout = 500 * time.Millisecond
	return Load(t, env, client, plan).Total.Counts
}

func allOK(t *testing.T, c loadgen.Counts, msg string) {
	t.Helper()
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK), "%s: %s", msg, Pretty(c))
}

func allTimeOut(t *testing.T, c loadgen.Counts, msg string) {
	t.Helper()
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeConnectTimeout), "%s: %s", msg, Pretty(c))
}

// CheckVMStart (VMsSpec): the standby host's traffic has no ports; started,
// its link address takes the NAT IP's last block and its source waits,
// its SYNs dropped as OUT_OF_RESOURCES; once web's VMs stop (vm-stop),
// the waiting VM has a block and connects, and web, started again, finds
// one block for its two VMs. Reverting the start gives web its block
// back. Each revert's Verify holds.
func CheckVMStart(t *testing.T, env chaos.Env) {
	allTimeOut(t, connects(t, env, "more"), "no VM of the gateway yet")
	start := NewFault(t, env, "vm-start", "nat", map[string]any{"client": "more"})
	Inject(t, env, start)
	rep := start.(chaos.Reporter).Report()
	assert.Equal(t, 1, rep["allocated"], Pretty(rep))
	assert.Equal(t, 1, rep["waiting"], Pretty(rep))
	allTimeOut(t, connects(t, env, "more"), "the waiting VM has no ports")
	m := NATMetrics(t, env, "nat")
	require.NotNil(t, m.GCP)
	assert.True(t, m.GCP.AllocationFailed)
	assert.GreaterOrEqual(t, m.GCP.DroppedSent[natcfg.ReasonOutOfResources], uint64(10), "each connect's SYN: %s", Pretty(m.GCP.DroppedSent))
	allOK(t, connects(t, env, "web"), "web keeps its blocks")

	stop := NewFault(t, env, "vm-stop", "nat", map[string]any{"client": "web"})
	Inject(t, env, stop)
	allOK(t, connects(t, env, "more"), "the waiting VM took a freed block")
	allTimeOut(t, connects(t, env, "web"), "web's VMs are stopped")
	Revert(t, env, stop)
	require.NoError(t, stop.Verify(context.Background(), env))
	allTimeOut(t, connects(t, env, "web"), "started again, web's source waits behind its link address")
	Revert(t, env, start)
	require.NoError(t, start.Verify(context.Background(), env))
	allOK(t, connects(t, env, "web"), "more's blocks went to web")
	allTimeOut(t, connects(t, env, "more"), "more is stopped again")
	m = NATMetrics(t, env, "nat")
	assert.False(t, m.GCP.AllocationFailed, "no VM waits: %+v", m.GCP.VMs)
}

// CheckVMStop (VMsSpec): a running host's VMs stop, their traffic goes
// nowhere, and the revert starts them again on the blocks they freed.
func CheckVMStop(t *testing.T, env chaos.Env) {
	allOK(t, connects(t, env, "web"), "before")
	f := NewFault(t, env, "vm-stop", "nat", map[string]any{"client": "web"})
	Inject(t, env, f)
	assert.Equal(t, 2, f.(chaos.Reporter).Report()["vms"])
	allTimeOut(t, connects(t, env, "web"), "stopped")
	Revert(t, env, f)
	require.NoError(t, f.Verify(context.Background(), env))
	allOK(t, connects(t, env, "web"), "started again")
}
