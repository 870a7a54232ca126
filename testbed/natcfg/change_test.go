package natcfg

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/internal/portrange"
)

// A live change lays the new blocks over the old: a VM keeps the start of
// its ports where the new slot holds them on its NAT IP, and the others
// take the first free slots.
func TestGCPCarryOver(t *testing.T) {
	gcpPorts := portrange.Range{First: 1024, Last: 65535}
	vm := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, 200, byte(10 + i)}) }
	vms := []netip.Addr{vm(0), vm(1), vm(2)}
	layout := func(ips []netip.Addr, minP, maxP int) ([]Slice, int) {
		s, slot, err := GCPLayout(vms, ips, gcpPorts, minP, maxP)
		require.NoError(t, err)
		return s, slot
	}
	firsts := func(s []Slice) (out []string) {
		for _, x := range s {
			out = append(out, x.IP.String()+":"+x.Ports.String())
		}
		return out
	}
	one := []netip.Addr{natIP1}

	// 256 to 64: every VM keeps the first 64 ports of its block.
	old, _ := layout(one, 256, 256)
	_, slot := layout(one, 64, 64)
	got, err := GCPCarryOver(old, vms, one, gcpPorts, 64, slot)
	require.NoError(t, err)
	assert.Equal(t, []string{"198.19.200.1:1024-1087", "198.19.200.1:1280-1343", "198.19.200.1:1536-1599"}, firsts(got))

	// Static 64 to DPA 64..128: slots of 128; the second VM's old block
	// lies in the first VM's slot, so it moves to the first free one.
	old, _ = layout(one, 64, 64)
	_, slot = layout(one, 64, 128)
	require.Equal(t, 128, slot)
	got, err = GCPCarryOver(old, vms, one, gcpPorts, 64, slot)
	require.NoError(t, err)
	assert.Equal(t, []string{"198.19.200.1:1024-1087", "198.19.200.1:1280-1343", "198.19.200.1:1152-1215"}, firsts(got))

	// A VM whose NAT IP is gone takes a free slot on one that stays.
	two := []netip.Addr{natIP1, natIP2}
	old = []Slice{{Source: vm(0), IP: natIP1, Ports: portrange.Range{First: 1024, Last: 1087}},
		{Source: vm(1), IP: natIP2, Ports: portrange.Range{First: 1024, Last: 1087}},
		{Source: vm(2), IP: natIP1, Ports: portrange.Range{First: 1088, Last: 1151}}}
	got, err = GCPCarryOver(old, vms, two[:1], gcpPorts, 64, 64)
	require.NoError(t, err)
	assert.Equal(t, []string{"198.19.200.1:1024-1087", "198.19.200.1:1152-1215", "198.19.200.1:1088-1151"}, firsts(got))

	// Too many VMs for the slots is an error, not an overlap.
	_, err = GCPCarryOver(nil, vms, one, portrange.Range{First: 1024, Last: 1151}, 64, 64)
	assert.ErrorContains(t, err, "3 VMs do not fit 1 NAT IPs x 2 slots of 64 ports")
}
