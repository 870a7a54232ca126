package natcfg

import (
	"net/netip"

	"github.com/natlab/natlab/internal/portrange"
)

// A Cloud NAT gives a VM its ports when the VM starts, not when the
// gateway is configured: a VM that starts while every NAT IP's ports are
// allocated to other VMs, of any subnet the gateway serves, gets none
// (nat_allocation_failed) and its new connections are dropped as
// OUT_OF_RESOURCES until a block frees up. GCPConfig.Waiting lists such
// VMs, and GCPFree finds a free block for one.

// GCPFree returns the first free block of size ports for vm: on the first
// NAT IP of ips that has one, the lowest block on a size boundary of
// ports (counted from ports.First) that overlaps no block of taken on
// that IP. ok is false when every NAT IP is full.
func GCPFree(taken []Slice, vm netip.Addr, ips []netip.Addr, ports portrange.Range, size int) (Slice, bool) {
	if size <= 0 {
		return Slice{}, false
	}
	for _, ip := range ips {
		for first := int(ports.First); first+size-1 <= int(ports.Last); first += size {
			b := portrange.Range{First: uint16(first), Last: uint16(first + size - 1)}
			free := true
			for _, t := range taken {
				if t.IP == ip && t.Ports.Overlaps(b) {
					free = false
					break
				}
			}
			if free {
				return Slice{Source: vm, IP: ip, Ports: b}, true
			}
		}
	}
	return Slice{}, false
}

// VMChange starts and stops VMs of a running gcp-cloud-nat gateway (the
// vm-start and vm-stop faults): Stop first, then Start.
type VMChange struct {
	Start []netip.Addr `json:"start,omitempty"`
	Stop  []netip.Addr `json:"stop,omitempty"`
}

// VMResult is the NAT agent's answer to a VMChange: which of the started
// VMs got a block, which wait for one, and how many conntrack entries of
// the stopped VMs went with them.
type VMResult struct {
	Allocated []netip.Addr `json:"allocated,omitempty"`
	Waiting   []netip.Addr `json:"waiting,omitempty"`
	Removed   int          `json:"removed"`
}
