package sampler

import (
	"time"
)

// Sample is one tick's reading of every watched host.
type Sample struct {
	// At is the time since the sampler started; Time the wall clock.
	At   time.Duration `json:"at"`
	Time time.Time     `json:"time"`
	// NATs and Backends are in the order the sampler was given them.
	NATs     []NATSample     `json:"nats"`
	Backends []BackendSample `json:"backends"`
}

// NATSample is one reading of a NAT box, with the names operators know.
type NATSample struct {
	Host string `json:"host"`
	// Err is set when the reading failed (e.g. the agent was killed);
	// the other fields are then zero.
	Err string `json:"error,omitempty"`
	// ConntrackEntries is the number of conntrack entries.
	ConntrackEntries int `json:"conntrack_entries"`
	// AllocationFailures is insert_failed + drop since the sampler
	// started; AllocationFailuresDelta the part of it in this tick.
	AllocationFailures      uint64 `json:"allocation_failures"`
	AllocationFailuresDelta uint64 `json:"allocation_failures_delta"`
	// PortUtilization is the highest utilization of any NAT IP or pool
	// (0..1); IPUtilization and PoolUtilization give each.
	PortUtilization float64            `json:"port_utilization"`
	IPUtilization   map[string]float64 `json:"ip_utilization"`
	PoolUtilization map[string]float64 `json:"pool_utilization"`
	// PortsInUse is the number of NAT ports in use: NAT IP and port
	// pairs mapped towards each destination, held ones included.
	PortsInUse int `json:"ports_in_use"`
	// IPForward is net.ipv4.ip_forward.
	IPForward bool `json:"ip_forward"`
	// ForwardedPackets counts packets forwarded since the NAT was set up;
	// ForwardedDelta the ones in this tick.
	ForwardedPackets uint64 `json:"forwarded_packets"`
	ForwardedDelta   uint64 `json:"forwarded_delta"`
}

// BackendSample is one reading of a backend host (all its servers).
type BackendSample struct {
	Host string `json:"host"`
	Err  string `json:"error,omitempty"`
	// Accepted counts connections accepted since the backend started;
	// AcceptedDelta those in this tick.
	Accepted      uint64 `json:"accepted"`
	AcceptedDelta uint64 `json:"accepted_delta"`
	// Active is connections open now.
	Active int64 `json:"active"`
}

// Metric returns the value of a named metric in this sample. Metrics over
// all NAT boxes: nat.port_utilization (the highest), nat.conntrack,
// nat.allocation_failures, nat.allocation_failures_delta,
// nat.forwarded_delta (sums), nat.ip_forward (1 only when forwarding is
// on everywhere). Per host: nat.<host>.<same>, backend.<host>.accepted,
// backend.<host>.accepted_delta, backend.<host>.active.
func (s Sample) Metric(name string) (float64, bool) {
	var sum, maxU float64
	fwd := 1.0
	var ok bool
	for _, n := range s.NATs {
		if v, found := natMetric(n, name, "nat."); found {
			return v, true
		}
		if n.Err != "" {
			continue
		}
		ok = true
		switch name {
		case "nat.port_utilization":
			maxU = max(maxU, n.PortUtilization)
		case "nat.conntrack":
			sum += float64(n.ConntrackEntries)
		case "nat.allocation_failures":
			sum += float64(n.AllocationFailures)
		case "nat.allocation_failures_delta":
			sum += float64(n.AllocationFailuresDelta)
		case "nat.forwarded_delta":
			sum += float64(n.ForwardedDelta)
		case "nat.ip_forward":
			if !n.IPForward {
				fwd = 0
			}
		default:
			ok = false
		}
	}
	if ok {
		switch name {
		case "nat.port_utilization":
			return maxU, true
		case "nat.ip_forward":
			return fwd, true
		}
		return sum, true
	}
	for _, b := range s.Backends {
		if b.Err != "" {
			continue
		}
		switch name {
		case "backend." + b.Host + ".accepted":
			return float64(b.Accepted), true
		case "backend." + b.Host + ".accepted_delta":
			return float64(b.AcceptedDelta), true
		case "backend." + b.Host + ".active":
			return float64(b.Active), true
		}
	}
	return 0, false
}

// natMetric answers nat.<host>.<field> for one NAT box.
func natMetric(n NATSample, name, prefix string) (float64, bool) {
	p := prefix + n.Host + "."
	if len(name) <= len(p) || name[:len(p)] != p || n.Err != "" {
		return 0, false
	}
	switch name[len(p):] {
	case "port_utilization":
		return n.PortUtilization, true
	case "conntrack":
		return float64(n.ConntrackEntries), true
	case "allocation_failures":
		return float64(n.AllocationFailures), true
	case "allocation_failures_delta":
		return float64(n.AllocationFailuresDelta), true
	case "forwarded_delta":
		return float64(n.ForwardedDelta), true
	case "ip_forward":
		if n.IPForward {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}
