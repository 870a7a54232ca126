package natcfg

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// valueShape is what a sysctl accepts: ints whole numbers separated by
// blanks, each within lo-hi when hi > lo, in order when ordered.
type valueShape struct {
	want    string // the shape in words: "0 or 1 (a switch)"
	ints    int
	lo, hi  int64
	ordered bool
}

var (
	switchShape  = valueShape{want: "0 or 1 (a switch)", ints: 1, lo: 0, hi: 1}
	secondsShape = valueShape{want: "a whole number of seconds", ints: 1}
	countShape   = valueShape{want: "a whole number (a count)", ints: 1}
	memShape     = valueShape{want: "3 whole numbers separated by spaces (min, default and max bytes), in order", ints: 3, ordered: true}
	pagesShape   = valueShape{want: "3 whole numbers separated by spaces (low, pressure and high pages), in order", ints: 3, ordered: true}
)

// knownShapes are the keys natlab's fixtures and docs set. A key not
// listed takes the shape of its current value (shapeFor).
var knownShapes = map[string]valueShape{
	"net.ipv4.ip_forward":                       switchShape,
	"net.ipv4.ip_nonlocal_bind":                 switchShape,
	"net.netfilter.nf_conntrack_tcp_loose":      switchShape,
	"net.netfilter.nf_conntrack_tcp_be_liberal": switchShape,
	"net.netfilter.nf_conntrack_acct":           switchShape,
	"net.netfilter.nf_conntrack_checksum":       switchShape,
	"net.netfilter.nf_conntrack_timestamp":      switchShape,
	"net.netfilter.nf_conntrack_max":            countShape,
	"net.nf_conntrack_max":                      countShape,
	"net.core.somaxconn":                        countShape,
	"net.core.netdev_max_backlog":               countShape,
	"net.ipv4.tcp_max_syn_backlog":              countShape,
	"net.ipv4.tcp_max_tw_buckets":               countShape,
	"net.ipv4.tcp_fin_timeout":                  secondsShape,
	"net.ipv4.tcp_tw_reuse":                     {want: "0, 1 or 2", ints: 1, lo: 0, hi: 2},
	"net.ipv4.ip_local_port_range":              {want: "two ports separated by a space (first last), each 1-65535, first <= last", ints: 2, lo: 1, hi: 65535, ordered: true},
	"net.ipv4.tcp_rmem":                         memShape,
	"net.ipv4.tcp_wmem":                         memShape,
	"net.ipv4.tcp_mem":                          pagesShape,
	"net.ipv4.udp_mem":                          pagesShape,
}

// shapeFor returns the shape of key: a known one, the conntrack timeouts
// and per-interface forwarding switches by pattern, or else the shape of
// its current value in /proc/sys (one or more whole numbers). It is false
// when the current value is text (or unreadable): then anything goes.
func shapeFor(key string) (valueShape, bool) {
	k := strings.ReplaceAll(key, "/", ".")
	if s, ok := knownShapes[k]; ok {
		return s, true
	}
	parts := strings.Split(k, ".")
	switch {
	case strings.HasPrefix(k, "net.netfilter.nf_conntrack_") && strings.Contains(k, "timeout"):
		return secondsShape, true
	case len(parts) == 5 && (parts[1] == "ipv4" || parts[1] == "ipv6") && parts[2] == "conf" && parts[4] == "forwarding":
		return switchShape, true
	}
	raw, err := os.ReadFile(SysctlPath(key))
	if err != nil {
		return valueShape{}, false
	}
	cur := strings.Fields(string(raw))
	if len(cur) == 0 {
		return valueShape{}, false
	}
	for _, f := range cur {
		if _, err := strconv.ParseInt(f, 10, 64); err != nil {
			return valueShape{}, false
		}
	}
	want := "a whole number"
	if len(cur) > 1 {
		want = fmt.Sprintf("%d whole numbers separated by spaces", len(cur))
	}
	return valueShape{want: fmt.Sprintf("%s, as its current value %q is", want, strings.Join(cur, " ")), ints: len(cur)}, true
}

// ValidateSysctlValue checks that value has the shape key takes: 0 or 1
// for a switch (net.ipv4.ip_forward), whole numbers for counts and
// timeouts, two ordered ports for net.ipv4.ip_local_port_range. A key
// natlab does not know must have the shape of its current value on this
// kernel (a whole number where there is one now); text values (such as
// net.ipv4.tcp_congestion_control) take anything.
func ValidateSysctlValue(key, value string) error {
	s, ok := shapeFor(key)
	if !ok {
		return nil
	}
	fields := strings.Fields(value)
	bad := fmt.Errorf("sysctl %s = %q: want %s", key, value, s.want)
	if len(fields) != s.ints {
		return bad
	}
	var prev int64
	for i, f := range fields {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || (s.hi > s.lo && (n < s.lo || n > s.hi)) || (s.ordered && i > 0 && n < prev) {
			return bad
		}
		prev = n
	}
	return nil
}
