package natcfg

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/natlab/natlab/internal/portrange"
)

// StaticSlices computes a static allocation: each source in order gets
// perHost ports, filling the first NAT IP's range before the next one.
// It returns an error saying how many hosts fit when the range is too small.
func StaticSlices(sources []netip.Addr, ips []netip.Addr, ports portrange.Range, perHost int) ([]Slice, error) {
	if err := ports.Validate(); err != nil {
		return nil, fmt.Errorf("static slices: %w", err)
	}
	if perHost <= 0 {
		return nil, fmt.Errorf("static slices: ports per host %d must be positive", perHost)
	}
	if len(ips) == 0 {
		return nil, errors.New("static slices: no NAT IPs")
	}
	if perHost > ports.Size() {
		return nil, fmt.Errorf("static slices: %d ports per host exceed the range %s (%d ports)", perHost, ports, ports.Size())
	}
	perIP := ports.Size() / perHost
	if fit := perIP * len(ips); len(sources) > fit {
		noun := "NAT IP"
		if len(ips) > 1 {
			noun = "NAT IPs"
		}
		return nil, fmt.Errorf("static slices: %d hosts x %d ports need %d ports; %d %s x %d ports = %d (room for %d hosts)",
			len(sources), perHost, len(sources)*perHost, len(ips), noun, ports.Size(), len(ips)*ports.Size(), fit)
	}
	out := make([]Slice, 0, len(sources))
	for i, src := range sources {
		ip := ips[i/perIP]
		first := int(ports.First) + (i%perIP)*perHost
		out = append(out, Slice{
			Source: src,
			IP:     ip,
			Ports:  portrange.Range{First: uint16(first), Last: uint16(first + perHost - 1)},
		})
	}
	return out, nil
}
