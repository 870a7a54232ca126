package sampler

import (
	"sort"
	"strings"
)

// Row is one host in one sample, flat for a CSV writer. Fields that do
// not apply to the host's role are zero.
type Row struct {
	AtSeconds               float64 `json:"at_seconds"`
	Host                    string  `json:"host"`
	Role                    string  `json:"role"` // "nat" or "backend"
	Error                   string  `json:"error"`
	ConntrackEntries        int     `json:"conntrack_entries"`
	AllocationFailures      uint64  `json:"allocation_failures"`
	AllocationFailuresDelta uint64  `json:"allocation_failures_delta"`
	PortUtilization         float64 `json:"port_utilization"`
	IPForward               bool    `json:"ip_forward"`
	ForwardedPackets        uint64  `json:"forwarded_packets"`
	ForwardedDelta          uint64  `json:"forwarded_delta"`
	Accepted                uint64  `json:"accepted"`
	AcceptedDelta           uint64  `json:"accepted_delta"`
	ActiveConns             int64   `json:"active_conns"`
	// Markers are the labels of markers since the previous sample, "; "
	// separated.
	Markers string `json:"markers"`
}

// UtilizationRow is one NAT IP's or pool's port utilization in one sample.
type UtilizationRow struct {
	AtSeconds   float64 `json:"at_seconds"`
	Host        string  `json:"host"`
	Scope       string  `json:"scope"` // "ip" or "pool"
	Name        string  `json:"name"`  // the NAT IP or the pool name
	Utilization float64 `json:"utilization"`
}

// Rows flattens the series: per sample, NAT boxes then backends.
func (s *Sampler) Rows() []Row {
	samples, markers := s.Samples(), s.Markers()
	sort.SliceStable(markers, func(i, j int) bool { return markers[i].At < markers[j].At })
	var out []Row
	mi := 0
	for _, smp := range samples {
		var labels []string
		for mi < len(markers) && markers[mi].At <= smp.At {
			labels = append(labels, markers[mi].Label)
			mi++
		}
		first := true
		label := func() string {
			if !first {
				return ""
			}
			first = false
			return strings.Join(labels, "; ")
		}
		at := smp.At.Seconds()
		for _, n := range smp.NATs {
			out = append(out, Row{AtSeconds: at, Host: n.Host, Role: "nat", Error: n.Err, ConntrackEntries: n.ConntrackEntries,
				AllocationFailures: n.AllocationFailures, AllocationFailuresDelta: n.AllocationFailuresDelta,
				PortUtilization: n.PortUtilization, IPForward: n.IPForward, ForwardedPackets: n.ForwardedPackets,
				ForwardedDelta: n.ForwardedDelta, Markers: label()})
		}
		for _, b := range smp.Backends {
			out = append(out, Row{AtSeconds: at, Host: b.Host, Role: "backend", Error: b.Err, Accepted: b.Accepted,
				AcceptedDelta: b.AcceptedDelta, ActiveConns: b.Active, Markers: label()})
		}
	}
	return out
}

// UtilizationRows flattens the per-IP and per-pool utilization.
func (s *Sampler) UtilizationRows() []UtilizationRow {
	var out []UtilizationRow
	for _, smp := range s.Samples() {
		for _, n := range smp.NATs {
			for _, scope := range []struct {
				name string
				m    map[string]float64
			}{{"ip", n.IPUtilization}, {"pool", n.PoolUtilization}} {
				keys := make([]string, 0, len(scope.m))
				for k := range scope.m {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					out = append(out, UtilizationRow{AtSeconds: smp.At.Seconds(), Host: n.Host, Scope: scope.name, Name: k, Utilization: scope.m[k]})
				}
			}
		}
	}
	return out
}
