package natbox

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/testbed/natcfg"
)

// sourcesOf lists the VMs of cfg that have a block, and those waiting.
func sourcesOf(cfg natcfg.Config) (up, waiting []netip.Addr) {
	for _, s := range cfg.Pools[0].Slices {
		up = append(up, s.Source)
	}
	return up, cfg.GCP.Waiting
}

// A NAT IP with four 64-port blocks, three VMs running. Two more start:
// the first gets the last block, the second none (nat_allocation_failed,
// its SYNs dropped as OUT_OF_RESOURCES though the NAT IP is in use by
// others only). A running VM stops: its block goes to the waiting VM at
// once, whose connections then go through. A config change keeps the
// VMs so (the stopped one stays stopped, the started ones keep their
// blocks, no connection is reset), and a VM that starts on the full IP
// waits again.
func TestGCPVMsStartIntoFreeBlocks(t *testing.T) {
	tp := newTopo(t)
	tp.listen(t, 8080)
	vms := tp.addVMs(t, 6)
	ports := portrange.Range{First: 20000, Last: 20255}
	cfg := gcpConfig(t, vms[:3], ports, 64, 64, time.Second)
	require.NoError(t, tp.box.Apply(cfg))

	res, err := tp.box.VMs(natcfg.VMChange{Start: vms[3:5]})
	require.NoError(t, err)
	assert.Equal(t, []netip.Addr{vms[3]}, res.Allocated)
	assert.Equal(t, []netip.Addr{vms[4]}, res.Waiting)
	assert.Len(t, tp.dialGiveUp(t, vms[3], dests(8080, 4), time.Second), 4, "the VM that got the last block connects")
	assert.Empty(t, tp.dialGiveUp(t, vms[4], dests(8080, 4), 1500*time.Millisecond), "the waiting VM has no ports")
	m := tp.metrics(t)
	w := vmMetrics(t, m, vms[4])
	assert.True(t, w.AllocationFailed)
	assert.Zero(t, w.AllocatedPorts)
	assert.GreaterOrEqual(t, w.Dropped, uint64(8), "4 SYNs and their retransmits, each OUT_OF_RESOURCES")
	assert.True(t, m.GCP.AllocationFailed)
	assert.Equal(t, w.Dropped, m.GCP.DroppedSent[natcfg.ReasonOutOfResources])
	assert.False(t, vmMetrics(t, m, vms[3]).AllocationFailed)

	held := tp.dialGiveUp(t, vms[1], dests(8080, 3), time.Second)
	require.Len(t, held, 3)
	res, err = tp.box.VMs(natcfg.VMChange{Stop: vms[:1]})
	require.NoError(t, err)
	now, ok := tp.box.Config()
	require.True(t, ok)
	up, waiting := sourcesOf(now)
	assert.Equal(t, []netip.Addr{vms[1], vms[2], vms[3], vms[4]}, up, "the waiting VM took the stopped VM's block")
	assert.Empty(t, waiting)
	assert.Equal(t, ports.First, now.Pools[0].Slices[3].Ports.First, "the first block, which the stopped VM had")
	assert.Len(t, tp.dialGiveUp(t, vms[4], dests(8080, 4), time.Second), 4, "with its block the VM connects")
	m = tp.metrics(t)
	assert.False(t, m.GCP.AllocationFailed)
	assert.Equal(t, 64, vmMetrics(t, m, vms[4]).AllocatedPorts)

	// The original config again, as a nat-config change gives it.
	ch, err := tp.box.Change(cfg)
	require.NoError(t, err)
	assert.Zero(t, ch.PredictedResets, "every running VM keeps its block")
	after, _ := tp.box.Config()
	assert.Equal(t, now.Pools[0].Slices, after.Pools[0].Slices)
	assert.Len(t, tp.dialGiveUp(t, vms[1], dests(8080, 1), time.Second), 1)

	res, err = tp.box.VMs(natcfg.VMChange{Start: vms[5:]})
	require.NoError(t, err)
	assert.Equal(t, []netip.Addr{vms[5]}, res.Waiting)
	after, _ = tp.box.Config()
	assert.Equal(t, []netip.Addr{vms[5]}, after.GCP.Waiting)
	// Stopping a waiting VM takes it off the list.
	_, err = tp.box.VMs(natcfg.VMChange{Stop: vms[5:]})
	require.NoError(t, err)
	after, _ = tp.box.Config()
	assert.Empty(t, after.GCP.Waiting)
	assert.False(t, slices.ContainsFunc(tp.metrics(t).GCP.VMs, func(v natcfg.VMMetrics) bool { return v.VM == vms[5] }), "a stopped VM has no reading")
}

// On a linux NAT there are no VMs to start: the error says so.
func TestVMsNeedCloudNAT(t *testing.T) {
	tp := newTopo(t)
	require.NoError(t, tp.box.Apply(onePool(ports256, natIP1)))
	_, err := tp.box.VMs(natcfg.VMChange{Start: []netip.Addr{netip.MustParseAddr("198.18.200.10")}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the NAT runs profile linux; VMs get their ports at start on gcp-cloud-nat only")
}
