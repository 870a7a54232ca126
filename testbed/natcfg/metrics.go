package natcfg

import "net/netip"

// Metrics is one reading of the NAT box, with the names operators know.
type Metrics struct {
	// ConntrackEntries is the number of conntrack entries in the namespace.
	ConntrackEntries int
	// InsertFailed, Drop and EarlyDrop are conntrack statistics summed over
	// CPUs, cumulative since the namespace was created.
	InsertFailed, Drop, EarlyDrop uint64
	// PolicyDrops counts new flows natlab's own rules dropped for want of
	// a port: held ports (managed mode), hosts without a static slice, the
	// ct count ceiling.
	PolicyDrops uint64
	// AllocationFailures is InsertFailed + Drop + PolicyDrops (AWS ErrorPortAllocation,
	// GCP OUT_OF_RESOURCES).
	AllocationFailures uint64
	// IPForward is net.ipv4.ip_forward of the calling thread's namespace.
	IPForward bool
	// ForwardedPackets counts packets seen by natlab's forward chain.
	ForwardedPackets uint64
	// HeldPorts is the number of elements in the managed-NAT held set.
	HeldPorts int
	// Mappings are the active NAT mappings grouped by NAT IP, protocol and
	// destination; in managed mode held ports count as mappings.
	Mappings []Mapping
	// IPUtilization is, per NAT IP, the max over destinations of mappings
	// divided by the ports that IP offers (0..1).
	IPUtilization map[string]float64
	// PoolUtilization is, per pool, the max over destinations of the pool's
	// mappings divided by the pool's capacity per destination (0..1).
	PoolUtilization map[string]float64
}

// Mapping counts the NAT ports in use on one NAT IP towards one destination.
type Mapping struct {
	NATIP       netip.Addr
	Protocol    string
	Destination netip.AddrPort
	Count       int
}
