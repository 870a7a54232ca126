package service

import (
	"net/netip"
	"slices"
)

// Merge folds the stats of several processes of one host, each serving
// the same servers (SO_REUSEPORT listeners on the same ip:port), into one
// figure per server name, in the order the names first appear. Counters
// and open connections add up; the namespace-wide listen counters are the
// same in every process and are taken once (the highest); peers are the
// union of the listed IPs and the widest port range. Distinct is exact
// while no process truncated its list, and a lower bound otherwise.
func Merge(per ...[]Stats) []Stats {
	var out []Stats
	at := map[string]int{}
	ips := map[string]map[string]bool{}
	for _, st := range per {
		for _, s := range st {
			i, seen := at[s.Name]
			if !seen {
				i = len(out)
				at[s.Name] = i
				ips[s.Name] = map[string]bool{}
				out = append(out, Stats{Name: s.Name, Protocol: s.Protocol, Addr: s.Addr,
					Dependency: DependencyStats{Limit: s.Dependency.Limit, Latency: s.Dependency.Latency}})
			}
			m := &out[i]
			if seen && (s.Dependency.Limit != m.Dependency.Limit || s.Dependency.Latency != m.Dependency.Latency) {
				m.Dependency.Mixed = true
			}
			m.Dependency.Mixed = m.Dependency.Mixed || s.Dependency.Mixed
			m.Processes += max(s.Processes, 1)
			m.Accepted += s.Accepted
			m.Active += s.Active
			m.Requests += s.Requests
			m.Bytes += s.Bytes
			m.Resets += s.Resets
			m.PeerResets += s.PeerResets
			m.AcceptErrors += s.AcceptErrors
			m.Stalled += s.Stalled
			m.Registrations.OK += s.Registrations.OK
			m.Registrations.FailedClosed += s.Registrations.FailedClosed
			m.Dependency.InFlight += s.Dependency.InFlight
			m.Dependency.Waiting += s.Dependency.Waiting
			m.Dependency.Lookups += s.Dependency.Lookups
			m.Dependency.TimedOut += s.Dependency.TimedOut
			// Peaks of several processes need not coincide: their sum
			// is an upper bound of the host's peak.
			m.Dependency.PeakInFlight += s.Dependency.PeakInFlight
			m.Dependency.PeakWaiting += s.Dependency.PeakWaiting
			m.Holepunch.Requests += s.Holepunch.Requests
			m.Holepunch.Verified += s.Holepunch.Verified
			m.Holepunch.Registered += s.Holepunch.Registered
			m.Holepunch.FailedClosed += s.Holepunch.FailedClosed
			m.Holepunch.DependencyTimeouts += s.Holepunch.DependencyTimeouts
			m.Holepunch.ProbeTimeouts += s.Holepunch.ProbeTimeouts
			m.Holepunch.MappingChanged += s.Holepunch.MappingChanged
			m.Holepunch.FailedClients += s.Holepunch.FailedClients
			m.Holepunch.InProgress += s.Holepunch.InProgress
			m.ListenOverflows = max(m.ListenOverflows, s.ListenOverflows)
			m.ListenDrops = max(m.ListenDrops, s.ListenDrops)
			for k, v := range s.Status {
				if m.Status == nil {
					m.Status = map[string]uint64{}
				}
				m.Status[k] += v
			}
			mergePeers(&m.Peers, s.Peers, ips[s.Name])
		}
	}
	return out
}

// mergePeers folds p into m; seen holds the IPs m lists so far.
func mergePeers(m *PeerSummary, p PeerSummary, seen map[string]bool) {
	for _, ip := range p.IPs {
		seen[ip] = true
	}
	if p.MinPort != 0 && (m.MinPort == 0 || p.MinPort < m.MinPort) {
		m.MinPort = p.MinPort
	}
	m.MaxPort = max(m.MaxPort, p.MaxPort)
	m.Truncated = m.Truncated || p.Truncated
	all := make([]netip.Addr, 0, len(seen))
	for ip := range seen {
		if a, err := netip.ParseAddr(ip); err == nil {
			all = append(all, a)
		}
	}
	slices.SortFunc(all, func(a, b netip.Addr) int { return a.Compare(b) })
	m.Distinct = max(m.Distinct, p.Distinct, len(all))
	if len(all) > MaxListedPeers {
		all, m.Truncated = all[:MaxListedPeers], true
	}
	m.IPs = m.IPs[:0]
	for _, a := range all {
		m.IPs = append(m.IPs, a.String())
	}
	if m.Distinct > len(m.IPs) {
		m.Truncated = true
	}
}
