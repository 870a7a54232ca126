package natcfg

import (
	"net/netip"
	"time"

	"github.com/natlab/natlab/internal/portrange"
)

// Metrics is one reading of the NAT box, with the names operators know.
type Metrics struct {
	// ReadAt is when the NAT box had read all its counters and tables
	// (wall clock; the testbed's hosts share one kernel clock): a reading
	// that answers late still says by when its counts were true.
	ReadAt time.Time `json:",omitzero"`
	// ConntrackEntries is the number of conntrack entries in the namespace.
	ConntrackEntries int
	// InsertFailed, Drop and EarlyDrop are conntrack statistics summed over
	// CPUs, cumulative since the namespace was created.
	InsertFailed, Drop, EarlyDrop uint64
	// PolicyDrops counts new flows natlab's own rules dropped for want of
	// a port: held ports (managed mode), hosts without a static slice, the
	// ct count ceiling.
	PolicyDrops uint64
	// AllocationFailures is max(InsertFailed, Drop) + PolicyDrops: each
	// flow the NAT could not map, once (AWS ErrorPortAllocation,
	// GCP OUT_OF_RESOURCES and ENDPOINT_INDEPENDENCE_CONFLICT).
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
	// GCP is the reading of the gcp-cloud-nat profile, nil for others.
	GCP *GCPMetrics `json:",omitempty"`
	// AWS is the reading of the aws-nat-gateway profile, nil for others.
	AWS *AWSMetrics `json:",omitempty"`
}

// GCPMetrics are Cloud NAT's own metrics, named as Cloud Monitoring names
// them (router.googleapis.com/nat/...).
type GCPMetrics struct {
	// VMs has one reading per VM (client address), in the config's order.
	VMs []VMMetrics
	// DroppedSent is dropped_sent_packets_count by reason (DropReasons),
	// cumulative: packets of new flows the NAT had no port for
	// (ReasonOutOfResources) or could not keep their endpoint-independent
	// mapping for (ReasonEndpointIndependenceConflict).
	DroppedSent map[string]uint64
	// NewConnections is new_connections_count, cumulative: connections
	// the NAT translated (a dropped attempt is not one).
	NewConnections uint64
	// OpenConnections is open_connections: translated connections open
	// now, those in TIME_WAIT or CLOSE left out.
	OpenConnections int
	// AllocationFailed is nat_allocation_failed: some VM needs more ports
	// than the allocator can give it while under max_ports_per_vm.
	AllocationFailed bool
	// AllocatorError is what went wrong in the control loop's last round
	// (dynamic port allocation, pinning closed flows), if anything did.
	AllocatorError string `json:",omitempty"`
}

// VMMetrics is one VM's reading.
type VMMetrics struct {
	VM netip.Addr
	// NATIP and Ports are the VM's block now.
	NATIP netip.Addr
	Ports portrange.Range
	// AllocatedPorts is allocated_ports, the size of the block.
	AllocatedPorts int
	// PortUsage is port_usage: the most ports the VM uses towards one
	// destination ip:port:protocol (held ports included).
	PortUsage int
	// Dropped is the VM's share of DroppedSent[ReasonOutOfResources].
	Dropped uint64
	// AllocationFailed is nat_allocation_failed of this VM.
	AllocationFailed bool
}

// Mapping counts the NAT ports in use on one NAT IP towards one destination.
type Mapping struct {
	NATIP       netip.Addr
	Protocol    string
	Destination netip.AddrPort
	Count       int
}
