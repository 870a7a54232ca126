package natcfg

import (
	"errors"
	"fmt"
	"net/netip"
)

// FlushFilter selects conntrack entries to delete; the zero value selects
// all. Fields are matched on the original direction.
type FlushFilter struct {
	// Origin matches the original source address (the client).
	Origin netip.Prefix
	// Destination matches the original destination address.
	Destination netip.Prefix
	// DestPort matches the original destination port; 0 matches any.
	DestPort uint16
	// Protocol is "", "tcp" or "udp".
	Protocol string
}

// Validate checks the protocol name and prefixes.
func (f FlushFilter) Validate() error {
	var errs []error
	switch f.Protocol {
	case "", "tcp", "udp":
	default:
		errs = append(errs, fmt.Errorf("flush filter: protocol %q, want \"\", \"tcp\" or \"udp\"", f.Protocol))
	}
	if f.Origin != (netip.Prefix{}) && !f.Origin.IsValid() {
		errs = append(errs, errors.New("flush filter: origin prefix is invalid"))
	}
	if f.Destination != (netip.Prefix{}) && !f.Destination.IsValid() {
		errs = append(errs, errors.New("flush filter: destination prefix is invalid"))
	}
	return errors.Join(errs...)
}
