package sampler

import (
	"strings"
	"time"
)

// Sample is one tick's reading of every watched host.
type Sample struct {
	// At is the time since the sampler started; Time the wall clock.
	At   time.Duration `json:"at"`
	Time time.Time     `json:"time"`
	// Late is how long after its tick was due the reading started (a
	// reading that overran its tick delays the next one).
	Late time.Duration `json:"late"`
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
	// ReadAt is when, since the sampler started, the NAT box had read its
	// counters and tables: At or later, by as long as the reading took on
	// the box. Windows (phases) take a reading by ReadAt, so what it counts
	// is never put in a window that ended before it happened.
	ReadAt time.Duration `json:"read_at"`
	// ConntrackEntries is the number of conntrack entries.
	ConntrackEntries int `json:"conntrack_entries"`
	// AllocationFailures counts the flows the NAT could not map since the sampler
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
	// GCP is Cloud NAT's own reading, for a NAT of profile gcp-cloud-nat
	// (nil for others).
	GCP *GCPSample `json:"gcp,omitempty"`
	// AWS is the NAT gateway's own reading, for a NAT of profile
	// aws-nat-gateway (nil for others).
	AWS *AWSSample `json:"aws,omitempty"`
}

// GCPSample is one reading of Cloud NAT's metrics, named as Cloud
// Monitoring names them.
type GCPSample struct {
	// AllocatedPorts and PortUsage are allocated_ports and port_usage by
	// VM (client address).
	AllocatedPorts map[string]int `json:"allocated_ports"`
	PortUsage      map[string]int `json:"port_usage"`
	// AllocationFailed is nat_allocation_failed: some VM needs more ports
	// than it can be given.
	AllocationFailed bool `json:"nat_allocation_failed"`
	// DroppedSent is dropped_sent_packets_count by reason since the
	// sampler started; DroppedSentDelta the part of it in this tick.
	DroppedSent      map[string]uint64 `json:"dropped_sent_packets_count"`
	DroppedSentDelta map[string]uint64 `json:"dropped_sent_packets_count_delta"`
	// NewConnections is new_connections_count since the sampler started;
	// NewConnectionsDelta the part of it in this tick.
	NewConnections      uint64 `json:"new_connections_count"`
	NewConnectionsDelta uint64 `json:"new_connections_count_delta"`
	// OpenConnections is open_connections.
	OpenConnections int `json:"open_connections"`
}

// MaxAllocatedPorts is the largest allocation of any VM.
func (g *GCPSample) MaxAllocatedPorts() int { return maxOf(g.AllocatedPorts) }

// MaxPortUsage is the highest port usage of any VM.
func (g *GCPSample) MaxPortUsage() int { return maxOf(g.PortUsage) }

func maxOf(m map[string]int) int {
	n := 0
	for _, v := range m {
		n = max(n, v)
	}
	return n
}

func sumOf(m map[string]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
}

// gcpMetric answers a Cloud NAT metric name (without "nat." and host).
func gcpMetric(g *GCPSample, name string) (float64, bool) {
	switch name {
	case "allocated_ports":
		return float64(g.MaxAllocatedPorts()), true
	case "port_usage":
		return float64(g.MaxPortUsage()), true
	case "nat_allocation_failed":
		if g.AllocationFailed {
			return 1, true
		}
		return 0, true
	case "dropped_sent_packets_count":
		return float64(sumOf(g.DroppedSent)), true
	case "dropped_sent_packets_count_delta":
		return float64(sumOf(g.DroppedSentDelta)), true
	case "new_connections_count":
		return float64(g.NewConnections), true
	case "new_connections_count_delta":
		return float64(g.NewConnectionsDelta), true
	case "open_connections":
		return float64(g.OpenConnections), true
	}
	if reason, ok := strings.CutPrefix(name, "dropped_sent_packets_count."); ok {
		if d, ok := strings.CutSuffix(reason, "_delta"); ok {
			return float64(g.DroppedSentDelta[d]), true
		}
		return float64(g.DroppedSent[reason]), true
	}
	return 0, false
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
	// Processes is how many server processes the figures merge.
	Processes int `json:"processes,omitempty"`
	// ListenOverflows and ListenDrops count, since the first sample, the
	// SYNs and handshakes the host's kernel dropped because a listener's
	// accept queue was full (TcpExt of its namespace): the server, not
	// the NAT, lost them.
	ListenOverflows uint64 `json:"listen_overflows,omitempty"`
	ListenDrops     uint64 `json:"listen_drops,omitempty"`
}

// Metric returns the value of a named metric in this sample. Metrics over
// all NAT boxes: nat.port_utilization (the highest), nat.conntrack,
// nat.allocation_failures, nat.allocation_failures_delta,
// nat.forwarded_delta (sums), nat.ip_forward (1 only when forwarding is
// on everywhere). Cloud NAT's, over the NATs of profile gcp-cloud-nat:
// nat.allocated_ports and nat.port_usage (the highest of any VM),
// nat.nat_allocation_failed (1 when any), nat.dropped_sent_packets_count
// and nat.dropped_sent_packets_count.<REASON>, nat.new_connections_count
// (each with a _delta of the tick), nat.open_connections (sums). AWS NAT
// gateway's, over the NATs of profile aws-nat-gateway, by their
// CloudWatch names: nat.ErrorPortAllocation, nat.PacketsDropCount,
// nat.ConnectionAttemptCount, nat.ConnectionEstablishedCount,
// nat.IdleTimeoutCount (each with a _delta of the tick) and
// nat.ActiveConnectionCount (sums). Per
// host: nat.<host>.<same>, backend.<host>.accepted,
// backend.<host>.accepted_delta, backend.<host>.active,
// backend.<host>.processes, backend.<host>.listen_drops,
// backend.<host>.listen_overflows.
func (s Sample) Metric(name string) (float64, bool) {
	if g, ok := strings.CutPrefix(name, "nat."); ok {
		if v, found := s.gcpMetric(g); found {
			return v, true
		}
		if v, found := s.awsMetric(g); found {
			return v, true
		}
	}
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
		case "backend." + b.Host + ".processes":
			return float64(max(b.Processes, 1)), true
		case "backend." + b.Host + ".listen_drops":
			return float64(b.ListenDrops), true
		case "backend." + b.Host + ".listen_overflows":
			return float64(b.ListenOverflows), true
		}
	}
	return 0, false
}

// gcpMetric answers a Cloud NAT metric over every gcp-cloud-nat NAT box:
// allocations and usage are the highest, failure is any, counts add up.
// found is false for other names, and when no box gave such a reading.
func (s Sample) gcpMetric(name string) (float64, bool) {
	var out float64
	found := false
	for _, n := range s.NATs {
		if n.Err != "" || n.GCP == nil {
			continue
		}
		v, ok := gcpMetric(n.GCP, name)
		if !ok {
			return 0, false
		}
		switch name {
		case "allocated_ports", "port_usage", "nat_allocation_failed":
			out = max(out, v)
		default:
			out += v
		}
		found = true
	}
	return out, found
}

// natMetric answers nat.<host>.<field> for one NAT box.
func natMetric(n NATSample, name, prefix string) (float64, bool) {
	p := prefix + n.Host + "."
	if len(name) <= len(p) || name[:len(p)] != p || n.Err != "" {
		return 0, false
	}
	if n.GCP != nil {
		if v, ok := gcpMetric(n.GCP, name[len(p):]); ok {
			return v, true
		}
	}
	if n.AWS != nil {
		if v, ok := awsMetric(n.AWS, name[len(p):]); ok {
			return v, true
		}
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
