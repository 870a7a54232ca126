package natcfg

import (
	"fmt"
	"net/netip"

	"github.com/natlab/natlab/internal/portrange"
)

// A live config change (the nat-config fault) is a re-apply whose effects
// on live connections follow from the profile's rules: a connection keeps
// its NAT ip:port only if the new config still gives that port to its
// client. ChangeResult says what the NAT agent predicted from conntrack
// before the change and what it did; ChangeObserved what the kernel has
// seen since.

// ChangeResult is the NAT agent's answer to a live config change.
type ChangeResult struct {
	// PredictedResets counts the live TCP connections (neither TIME_WAIT
	// nor CLOSE) whose NAT port the new config no longer gives their
	// client while their NAT IP stays: their next packet is answered with
	// a TCP reset.
	PredictedResets int `json:"predicted_resets"`
	// PredictedDropped counts the live connections (TCP and UDP) on a NAT
	// IP the new config no longer has: their return traffic is dropped.
	PredictedDropped int `json:"predicted_dropped"`
	// PredictedRemapped counts the UDP flows that lose their port while
	// their NAT IP stays: their next datagram gets a new mapping.
	PredictedRemapped int `json:"predicted_remapped"`
	// Removed is how many conntrack entries the change deleted at once:
	// the remapped UDP flows'. A reset flow's entry goes once the reset
	// has been sent.
	Removed int `json:"removed"`
}

// ChangeObserved is what the kernel saw of the last change's effects.
type ChangeObserved struct {
	// Marked counts the connections waiting to be reset on their next
	// packet (the predicted resets, less those a new connection on the
	// same tuple replaced).
	Marked int `json:"marked"`
	// Resets counts the connections answered with a TCP reset, each once.
	Resets int `json:"resets"`
	// Dropped counts the connections whose return traffic was dropped.
	Dropped int `json:"dropped"`
}

// GCPCarryOver lays out the blocks of a new gcp-cloud-nat config over the
// blocks of the config in force (prev), as a live change does: every VM
// starts again at minPorts on a slot boundary (slot as GCPLayout chose it
// for the new config); a VM keeps its ports where the new block can hold
// its old first port on the same NAT IP, and the other VMs take the first
// free slots, filling one NAT IP before the next. A VM's connections on
// ports outside its new block lose them.
func GCPCarryOver(prev []Slice, vms, ips []netip.Addr, ports portrange.Range, minPorts, slot int) ([]Slice, error) {
	if slot < minPorts || !IsPowerOfTwo(slot) || !IsPowerOfTwo(minPorts) {
		return nil, fmt.Errorf("gcp carry over: slot %d for %d ports per VM: want powers of two, slot >= ports", slot, minPorts)
	}
	perIP := ports.Size() / slot
	type pos struct {
		ip  netip.Addr
		off int
	}
	taken := map[pos]bool{}
	hasIP := map[netip.Addr]bool{}
	for _, ip := range ips {
		hasIP[ip] = true
	}
	old := map[netip.Addr]Slice{}
	for _, s := range prev {
		old[s.Source] = s
	}
	block := func(ip netip.Addr, off int) Slice {
		first := int(ports.First) + off*slot
		return Slice{IP: ip, Ports: portrange.Range{First: uint16(first), Last: uint16(first + minPorts - 1)}}
	}
	placed := make([]*Slice, len(vms))
	for i, vm := range vms {
		p, ok := old[vm]
		if !ok || !hasIP[p.IP] || p.Ports.First < ports.First {
			continue
		}
		off := (int(p.Ports.First) - int(ports.First)) / slot
		if off >= perIP || taken[pos{p.IP, off}] {
			continue
		}
		b := block(p.IP, off)
		if b.Ports.Last < p.Ports.First {
			continue // the new block lies below the old one: the VM moves
		}
		b.Source = vm
		taken[pos{p.IP, off}] = true
		placed[i] = &b
	}
	next := 0
	for i, vm := range vms {
		if placed[i] != nil {
			continue
		}
		for next < len(ips)*perIP && taken[pos{ips[next/perIP], next % perIP}] {
			next++
		}
		if next >= len(ips)*perIP {
			return nil, fmt.Errorf("gcp carry over: %d VMs do not fit %d NAT IPs x %d slots of %d ports", len(vms), len(ips), perIP, slot)
		}
		b := block(ips[next/perIP], next%perIP)
		b.Source = vm
		taken[pos{b.IP, next % perIP}] = true
		placed[i] = &b
	}
	out := make([]Slice, len(vms))
	for i, p := range placed {
		out[i] = *p
	}
	return out, nil
}
