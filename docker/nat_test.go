package docker_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natcfg"
	"github.com/natlab/natlab/testbed/service"
	tt "github.com/natlab/natlab/testbed/testbedtest"
)

var ports256 = portrange.Range{First: 1024, Last: 1279}

// exhaustSpec is 1 NAT (1 IP, 256 ports), 1 client with 10 addresses and
// one TCP echo backend.
func exhaustSpec() testbed.Spec {
	return testbed.Spec{
		NATs:     []testbed.NATSpec{{IPs: 1, Ports: ports256}},
		Clients:  []testbed.ClientSpec{{Name: "client", Addresses: 10}},
		Backends: []testbed.BackendSpec{{Name: "api", Protocol: service.TCPEcho, Port: 8080}},
	}
}

// 300 held connections through 256 NAT ports to one destination, in
// containers: exactly 256 connect, 44 time out (a silent drop, never a
// refusal), and the backend sees only the NAT IP with ports in the range.
func TestPortExhaustionInContainers(t *testing.T) {
	tb := up(t, exhaustSpec())
	plan := holdPlan(target(t, tb, "api", 8080), 300, 5*time.Second)
	plan.Sources = tb.Run.Layout.Hosts[0].Sources
	require.Len(t, plan.Sources, 10)

	before := natMetrics(t, tb)
	res := load(t, tb, "client", plan)
	after := natMetrics(t, tb)
	c := res.Total.Counts
	assert.Equal(t, uint64(300), c.Attempts, pretty(c))
	assert.Equal(t, uint64(256), c.Of(loadgen.OutcomeOK), pretty(c))
	assert.Equal(t, uint64(44), c.Of(loadgen.OutcomeConnectTimeout), pretty(c))
	assert.Zero(t, c.Of(loadgen.OutcomeRefused), "a NAT allocation failure is a silent drop")
	assert.Greater(t, after.AllocationFailures, before.AllocationFailures, "the NAT counts allocation failures")

	st := backendStats(t, tb.Agent("api"))[0]
	natIP := tb.Run.Layout.NATs[0].IPs[0]
	assert.Equal(t, []string{natIP.String()}, st.Peers.IPs, "backend must see only the NAT IP")
	assert.GreaterOrEqual(t, st.Peers.MinPort, ports256.First)
	assert.LessOrEqual(t, st.Peers.MaxPort, ports256.Last)
	assert.Equal(t, uint64(256), st.Accepted)
}

func natMetrics(t testing.TB, tb *testbed.Testbed) natcfg.Metrics {
	t.Helper()
	var m natcfg.Metrics
	require.NoError(t, tb.Agent("nat").Call(context.Background(), wire.OpNATMetrics, nil, &m))
	return m
}

// Endpoint-independent mapping in containers, as on netns: one internal
// ip:port is seen by two public backends from one NAT ip:port.
func TestCloudNATEndpointIndependentMappingInContainers(t *testing.T) {
	tt.CheckEIMOneMapping(t, up(t, tt.EIMSpec()))
}

// An endpoint-independence conflict in containers, as on netns.
func TestCloudNATEndpointIndependenceConflictInContainers(t *testing.T) {
	tt.CheckEIMConflict(t, up(t, tt.EIMSpec()))
}

// Cloud NAT's port blocks in containers, as on netns: exactly 640 of 800
// connect, 160 time out as OUT_OF_RESOURCES (testbedtest's check).
func TestCloudNATOutOfResourcesInContainers(t *testing.T) {
	tt.CheckCloudNATOutOfResources(t, up(t, tt.CloudNATSpec(testbed.GCPCloudNAT{MinPortsPerVM: 64}, 10)))
}

// Dynamic port allocation in containers: all 800 connect, every VM grows
// from 64 to 128 ports.
func TestCloudNATDynamicPortAllocationInContainers(t *testing.T) {
	tt.CheckCloudNATDynamicPortAllocation(t, up(t, tt.CloudNATSpec(testbed.GCPCloudNAT{MinPortsPerVM: 64, MaxPortsPerVM: 128, EnableDynamicPortAllocation: true}, 10)))
}

// Ports per destination in containers: 64 to each of two at once.
func TestCloudNATPortsArePerDestinationInContainers(t *testing.T) {
	tt.CheckCloudNATPortsArePerDestination(t, up(t, tt.CloudNATSpec(testbed.GCPCloudNAT{MinPortsPerVM: 64}, 1)))
}

// The TIME_WAIT hold in containers: over ports / timeout fails, under it
// succeeds, and halving the timeout doubles the rate.
func TestCloudNATTimeWaitInContainers(t *testing.T) {
	tt.CheckCloudNATTimeWait(t, up)
}
