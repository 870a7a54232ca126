package chaos

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natcfg"
)

// ctTimeouts maps the short names a scenario uses to the conntrack
// timeout sysctls (net.netfilter.nf_conntrack_*), all in seconds.
var ctTimeouts = map[string]string{
	"tcp_syn_sent":       "nf_conntrack_tcp_timeout_syn_sent",
	"tcp_syn_recv":       "nf_conntrack_tcp_timeout_syn_recv",
	"tcp_established":    "nf_conntrack_tcp_timeout_established",
	"tcp_fin_wait":       "nf_conntrack_tcp_timeout_fin_wait",
	"tcp_close_wait":     "nf_conntrack_tcp_timeout_close_wait",
	"tcp_last_ack":       "nf_conntrack_tcp_timeout_last_ack",
	"tcp_time_wait":      "nf_conntrack_tcp_timeout_time_wait",
	"tcp_close":          "nf_conntrack_tcp_timeout_close",
	"tcp_max_retrans":    "nf_conntrack_tcp_timeout_max_retrans",
	"tcp_unacknowledged": "nf_conntrack_tcp_timeout_unacknowledged",
	"udp":                "nf_conntrack_udp_timeout",
	"udp_stream":         "nf_conntrack_udp_timeout_stream",
	"icmp":               "nf_conntrack_icmp_timeout",
	"generic":            "nf_conntrack_generic_timeout",
}

func timeoutParams() []Param {
	names := make([]string, 0, len(ctTimeouts))
	for n := range ctTimeouts {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]Param, len(names))
	for i, n := range names {
		out[i] = Param{Name: n, Type: "duration", Doc: "sets net.netfilter." + ctTimeouts[n] + " (whole seconds, at least 1s)"}
	}
	return out
}

var timeoutsParams = timeoutParams()

var timeoutsKind = Kind{
	Name:    "conntrack-timeouts",
	Summary: "change conntrack timeouts (tcp_time_wait: 30s, udp: 10s, ...) through the nf_conntrack_* sysctls; revert restores them",
	Params:  timeoutsParams,
	Roles:   []testbed.Role{testbed.RoleNAT},
	New:     newTimeouts,
}

func newTimeouts(t Target, params map[string]any) (Fault, error) {
	r := newReader(params, timeoutsParams)
	names := make([]string, 0, len(params))
	for n := range params {
		if _, ok := ctTimeouts[n]; ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		r.bad("", "no timeout given, set at least one of: %s", strings.Join(paramNames(timeoutsParams), ", "))
	}
	var sets []natcfg.Sysctl
	for _, n := range names {
		d, ok := r.duration(n, time.Second)
		if !ok {
			continue
		}
		if d%time.Second != 0 {
			r.bad(n, "%s is not a whole number of seconds (the kernel counts seconds)", d)
			continue
		}
		sets = append(sets, natcfg.Sysctl{Key: "net.netfilter." + ctTimeouts[n], Value: fmt.Sprint(int64(d / time.Second))})
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	return &sysctlFault{host: t.Host, sets: sets}, nil
}

func paramNames(ps []Param) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}
