// Package portrange is natlab's one type for a range of L4 ports, written
// "first-last" (or a single port) in scenario files and flags: the NAT's
// port ranges, fault parameters and the load generator's local ports all
// parse and print it here.
package portrange

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Range is an inclusive range of L4 ports.
type Range struct{ First, Last uint16 }

// Size is the number of ports in the range (0 for an invalid range).
func (r Range) Size() int {
	if r.First == 0 || r.Last < r.First {
		return 0
	}
	return int(r.Last) - int(r.First) + 1
}

// String renders the range as "first-last", the form Parse reads.
func (r Range) String() string {
	return fmt.Sprintf("%d-%d", r.First, r.Last)
}

// Validate checks that both ends are within 1..65535 and First <= Last.
func (r Range) Validate() error {
	if r.First == 0 {
		return fmt.Errorf("port range %s: ports must be within 1-65535", r)
	}
	if r.Last < r.First {
		return fmt.Errorf("port range %s: the range is empty: first port %d is above last port %d", r, r.First, r.Last)
	}
	return nil
}

// Contains reports whether other lies entirely inside r.
func (r Range) Contains(other Range) bool {
	return other.First >= r.First && other.Last <= r.Last
}

// Overlaps reports whether r and other share at least one port.
func (r Range) Overlaps(other Range) bool {
	return r.First <= other.Last && other.First <= r.Last
}

// Parse reads "first-last" or a single port "n" (a range of one). Its
// errors say what is wrong and what is valid.
func Parse(s string) (Range, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return Range{}, errors.New("port range is empty: want first-last such as 1024-1279, or a single port")
	}
	lo, hi, found := strings.Cut(in, "-")
	if !found {
		hi = lo
	}
	a, errA := strconv.ParseInt(strings.TrimSpace(lo), 10, 64)
	b, errB := strconv.ParseInt(strings.TrimSpace(hi), 10, 64)
	switch {
	case errA != nil || errB != nil:
		return Range{}, fmt.Errorf("port range %q: want first-last such as 1024-1279, or a single port", in)
	case a < 1 || b < 1 || a > 65535 || b > 65535:
		return Range{}, fmt.Errorf("port range %q: ports must be within 1-65535", in)
	case a > b:
		return Range{}, fmt.Errorf("port range %q: the range is empty: first port %d is above last port %d", in, a, b)
	}
	return Range{First: uint16(a), Last: uint16(b)}, nil
}
