package netns_test

import (
	"testing"

	"github.com/natlab/natlab/testbed"
	tt "github.com/natlab/natlab/testbed/testbedtest"
)

// Cloud NAT without dynamic port allocation: 10 VMs of 64 ports each, 80
// connections each (testbedtest.CheckCloudNATOutOfResources).
func TestCloudNATOutOfResources(t *testing.T) {
	t.Parallel()
	tt.CheckCloudNATOutOfResources(t, up(t, tt.CloudNATSpec(testbed.GCPCloudNAT{MinPortsPerVM: 64}, 10)))
}

// Dynamic port allocation grows every VM from 64 to 128 ports under the
// same load (testbedtest.CheckCloudNATDynamicPortAllocation).
func TestCloudNATDynamicPortAllocation(t *testing.T) {
	t.Parallel()
	tt.CheckCloudNATDynamicPortAllocation(t, up(t, tt.CloudNATSpec(testbed.GCPCloudNAT{MinPortsPerVM: 64, MaxPortsPerVM: 128, EnableDynamicPortAllocation: true}, 10)))
}

// Ports are per destination (testbedtest.CheckCloudNATPortsArePerDestination).
func TestCloudNATPortsArePerDestination(t *testing.T) {
	t.Parallel()
	tt.CheckCloudNATPortsArePerDestination(t, up(t, tt.CloudNATSpec(testbed.GCPCloudNAT{MinPortsPerVM: 64}, 1)))
}

// The TIME_WAIT hold bounds the unpooled rate to ports / timeout
// (testbedtest.CheckCloudNATTimeWait).
func TestCloudNATTimeWait(t *testing.T) {
	tt.CheckCloudNATTimeWait(t, func(t testing.TB, s testbed.Spec) *testbed.Testbed { return up(t, s) })
}

// Endpoint-independent mapping through the whole testbed: one internal
// ip:port is seen by two public backends from one NAT ip:port.
func TestCloudNATEndpointIndependentMapping(t *testing.T) {
	t.Parallel()
	tt.CheckEIMOneMapping(t, up(t, tt.EIMSpec()))
}

// An endpoint-independence conflict through the whole testbed is dropped
// and counted, one per datagram.
func TestCloudNATEndpointIndependenceConflict(t *testing.T) {
	t.Parallel()
	tt.CheckEIMConflict(t, up(t, tt.EIMSpec()))
}
