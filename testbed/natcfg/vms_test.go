package natcfg

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/natlab/natlab/internal/portrange"
)

// A started VM gets the lowest free block of the first NAT IP that has
// one; a grown block (twice the size) is in the way of both its halves.
func TestGCPFree(t *testing.T) {
	ip1, ip2 := netip.MustParseAddr("198.19.0.1"), netip.MustParseAddr("198.19.0.2")
	vm := netip.MustParseAddr("198.18.0.10")
	ports := portrange.Range{First: 1024, Last: 1279} // four blocks of 64
	r := func(first, last uint16) portrange.Range { return portrange.Range{First: first, Last: last} }
	taken := []Slice{{IP: ip1, Ports: r(1024, 1087)}, {IP: ip1, Ports: r(1152, 1279)}}
	s, ok := GCPFree(taken, vm, []netip.Addr{ip1, ip2}, ports, 64)
	assert.True(t, ok)
	assert.Equal(t, Slice{Source: vm, IP: ip1, Ports: r(1088, 1151)}, s)

	taken = append(taken, s)
	s, ok = GCPFree(taken, vm, []netip.Addr{ip1, ip2}, ports, 64)
	assert.True(t, ok)
	assert.Equal(t, Slice{Source: vm, IP: ip2, Ports: r(1024, 1087)}, s, "the first IP is full: the next one")

	_, ok = GCPFree(taken, vm, []netip.Addr{ip1}, ports, 64)
	assert.False(t, ok, "no IP has a free block")
	_, ok = GCPFree(nil, vm, []netip.Addr{ip1}, ports, 512)
	assert.False(t, ok, "a block larger than the range")
}

// A VM may wait for a block, or have one, not both.
func TestGCPWaitingVMHasNoBlock(t *testing.T) {
	c := Config{WAN: "wan0", Hold: 1e9, Profile: ProfileGCPCloudNAT}
	vm := netip.MustParseAddr("198.18.0.10")
	ip := netip.MustParseAddr("198.19.0.1")
	c.Pools = []Pool{{Name: "cloud-nat", Sources: []netip.Prefix{netip.MustParsePrefix("198.18.0.0/24")}, IPs: []netip.Addr{ip},
		Ports: portrange.Range{First: 1024, Last: 1279}, Slices: []Slice{{Source: vm, IP: ip, Ports: portrange.Range{First: 1024, Last: 1087}}}}}
	c.GCP = &GCPConfig{MinPorts: 64, MaxPorts: 64, EstablishedIdle: 1e9, TransitoryIdle: 1e9, UDPIdle: 1e9, Waiting: []netip.Addr{vm}}
	err := c.Validate()
	if assert.Error(t, err) {
		assert.Contains(t, err.Error(), "VM 198.18.0.10 is waiting for a block and has one")
	}
	c.GCP.Waiting = []netip.Addr{netip.MustParseAddr("198.18.0.11")}
	assert.NoError(t, c.Validate())
}
