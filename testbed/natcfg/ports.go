package natcfg

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// PortRange is an inclusive range of L4 ports.
type PortRange struct{ First, Last uint16 }

// Size is the number of ports in the range (0 for an invalid range).
func (r PortRange) Size() int {
	if r.First == 0 || r.Last < r.First {
		return 0
	}
	return int(r.Last) - int(r.First) + 1
}

// String renders the range as "first-last", the form ParsePortRange reads.
func (r PortRange) String() string {
	return fmt.Sprintf("%d-%d", r.First, r.Last)
}

// Validate checks that both ends are within 1..65535 and First <= Last.
func (r PortRange) Validate() error {
	if r.First == 0 {
		return fmt.Errorf("port range %s: ports must be within 1-65535", r)
	}
	if r.Last < r.First {
		return fmt.Errorf("port range %s: first port is above last port", r)
	}
	return nil
}

// Contains reports whether other lies entirely inside r.
func (r PortRange) Contains(other PortRange) bool {
	return other.First >= r.First && other.Last <= r.Last
}

// Overlaps reports whether r and other share at least one port.
func (r PortRange) Overlaps(other PortRange) bool {
	return r.First <= other.Last && other.First <= r.Last
}

// ParsePortRange reads "first-last" or a single port "n" (a range of one).
func ParsePortRange(s string) (PortRange, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return PortRange{}, errors.New("parse port range: empty, want first-last such as 1024-1279")
	}
	lo, hi, found := strings.Cut(s, "-")
	if !found {
		hi = lo
	}
	first, err := parsePort(lo)
	if err != nil {
		return PortRange{}, fmt.Errorf("parse port range %q: %w", s, err)
	}
	last, err := parsePort(hi)
	if err != nil {
		return PortRange{}, fmt.Errorf("parse port range %q: %w", s, err)
	}
	r := PortRange{First: first, Last: last}
	if err := r.Validate(); err != nil {
		return PortRange{}, fmt.Errorf("parse port range: %w", err)
	}
	return r, nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q is not a port (1-65535)", strings.TrimSpace(s))
	}
	return uint16(n), nil
}
