package loadgen

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rate is an arrival rate: Freq arrivals every Per. Its text and JSON form is
// "100/s", "5/100ms" or "1/10s"; a bare number means per second.
type Rate struct {
	Freq int
	Per  time.Duration
}

// PerSecond returns the rate in arrivals per second.
func (r Rate) PerSecond() float64 {
	if r.Per <= 0 {
		return 0
	}
	return float64(r.Freq) / r.Per.Seconds()
}

// IsZero reports whether the rate sends nothing.
func (r Rate) IsZero() bool { return r.Freq == 0 || r.Per <= 0 }

// String returns the text form, e.g. "100/s".
func (r Rate) String() string {
	per := r.Per
	if per <= 0 {
		per = time.Second
	}
	unit := per.String()
	switch per {
	case time.Second:
		unit = "s"
	case time.Minute:
		unit = "m"
	case time.Millisecond:
		unit = "ms"
	}
	return strconv.Itoa(r.Freq) + "/" + unit
}

// ParseRate parses "100/s", "100/1s", "5/100ms", "60/m" or "100" (per second).
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	num, per, found := strings.Cut(s, "/")
	freq, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || freq < 0 {
		return Rate{}, fmt.Errorf("parse rate %q: want a count >= 0 like \"100/s\"", s)
	}
	if !found {
		return Rate{Freq: freq, Per: time.Second}, nil
	}
	per = strings.TrimSpace(per)
	if per != "" && (per[0] < '0' || per[0] > '9') {
		per = "1" + per
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return Rate{}, fmt.Errorf("parse rate %q: want a period like \"s\", \"100ms\" or \"10s\" after the slash", s)
	}
	return Rate{Freq: freq, Per: d}, nil
}

// RatePerSecond returns a rate of n arrivals per second.
func RatePerSecond(n int) Rate { return Rate{Freq: n, Per: time.Second} }

// MarshalText encodes the rate as "100/s".
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText decodes "100/s".
func (r *Rate) UnmarshalText(b []byte) error {
	v, err := ParseRate(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}
