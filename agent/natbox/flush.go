package natbox

import (
	"errors"
	"fmt"

	"github.com/ti-mo/conntrack"
	"golang.org/x/sys/unix"

	"github.com/natlab/natlab/testbed/natcfg"
)

// matches reports whether filter f selects conntrack entry fl.
func matches(f natcfg.FlushFilter, fl conntrack.Flow) bool {
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
func (b *Box) Flush(f natcfg.FlushFilter) (int, error) {
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
		if !matches(f, fl) {
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
