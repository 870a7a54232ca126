package natbox

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/ti-mo/conntrack"
	"golang.org/x/sys/unix"
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

func (f FlushFilter) match(fl conntrack.Flow) bool {
	o := fl.TupleOrig
	if f.Origin.IsValid() && !f.Origin.Contains(o.IP.SourceAddress) {
		return false
	}
	if f.Destination.IsValid() && !f.Destination.Contains(o.IP.DestinationAddress) {
		return false
	}
	if f.DestPort != 0 && o.Proto.DestinationPort != f.DestPort {
		return false
	}
	switch f.Protocol {
	case "tcp":
		return o.Proto.Protocol == unix.IPPROTO_TCP
	case "udp":
		return o.Proto.Protocol == unix.IPPROTO_UDP
	}
	return true
}

// Flush deletes the conntrack entries selected by f and returns how many
// were removed. Entries that vanished on their own meanwhile are not counted.
func (b *Box) Flush(f FlushFilter) (int, error) {
	if err := f.Validate(); err != nil {
		return 0, fmt.Errorf("flush conntrack: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	flows, err := b.ct.Dump(nil)
	if err != nil {
		return 0, fmt.Errorf("flush conntrack: dump: %w", err)
	}
	n := 0
	for _, fl := range flows {
		if !f.match(fl) {
			continue
		}
		if err := b.ct.Delete(fl); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			return n, fmt.Errorf("flush conntrack: delete %s: %w", fl.TupleOrig, err)
		}
		n++
	}
	return n, nil
}
