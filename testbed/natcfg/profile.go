package natcfg

import (
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"time"

	"github.com/natlab/natlab/internal/portrange"
)

// NAT profiles: how the NAT box behaves. The kernel side of each is one
// file in agent/natbox; this list is what a config may name.
const (
	// ProfileLinux is a plain Linux NAT (optionally with a managed-NAT
	// hold, Config.Hold). The empty profile means linux.
	ProfileLinux = "linux"
	// ProfileGCPCloudNAT is Google Cloud NAT: a port block per VM, the
	// TIME_WAIT hold, OUT_OF_RESOURCES drops and dynamic port allocation.
	ProfileGCPCloudNAT = "gcp-cloud-nat"
)

// Profiles lists the valid profiles, in the order messages name them.
var Profiles = []string{ProfileLinux, ProfileGCPCloudNAT, ProfileAWSNATGateway}

// Drop reasons of GCPMetrics.DroppedSent, as Cloud NAT names them.
const (
	// ReasonOutOfResources: a new flow found no free port in its VM's block.
	ReasonOutOfResources = "OUT_OF_RESOURCES"
	// ReasonEndpointIndependenceConflict: with endpoint-independent
	// mapping, a new flow's fixed NAT ip:port is already taken towards
	// its destination by another internal ip:port.
	ReasonEndpointIndependenceConflict = "ENDPOINT_INDEPENDENCE_CONFLICT"
)

// DropReasons lists the reasons natlab counts.
var DropReasons = []string{ReasonOutOfResources, ReasonEndpointIndependenceConflict}

// GCPCloudNAT defaults that are not settings of a scenario.
const (
	// DefaultDPAInterval is how often the dynamic port allocator reads
	// conntrack.
	DefaultDPAInterval = 200 * time.Millisecond
	// DefaultShrinkAfter is how long a VM's usage must stay at or under
	// half its allocation before the allocator halves it.
	DefaultShrinkAfter = 30 * time.Second
)

// GCPConfig is the kernel side of the gcp-cloud-nat profile. The VMs and
// their first blocks are the single pool's Slices, each MinPorts long, on
// a boundary of its slot so that it can double in place. Config.Hold is
// the TIME_WAIT hold (tcp_time_wait_timeout_sec).
type GCPConfig struct {
	// MinPorts is the allocation each VM starts with, a power of two.
	MinPorts int `json:"min_ports"`
	// MaxPorts is the most dynamic port allocation may grow a VM to (a
	// power of two); without it MaxPorts equals MinPorts.
	MaxPorts int `json:"max_ports"`
	// DynamicPortAllocation lets the allocator double a VM's block when
	// its usage to some destination reaches the block, and halve it again
	// when unused.
	DynamicPortAllocation bool `json:"dynamic_port_allocation,omitempty"`
	// EndpointIndependentMapping keeps one NAT ip:port for every UDP flow
	// of one internal ip:port, whatever its destination; a flow whose
	// mapping is taken towards its destination is dropped
	// (ReasonEndpointIndependenceConflict). Cloud NAT refuses it together
	// with dynamic port allocation.
	EndpointIndependentMapping bool `json:"endpoint_independent_mapping,omitempty"`
	// The idle timeouts become conntrack timeouts.
	EstablishedIdle time.Duration `json:"established_idle"`
	TransitoryIdle  time.Duration `json:"transitory_idle"`
	UDPIdle         time.Duration `json:"udp_idle"`
	// Interval is how often the allocator reads usage (0: DefaultDPAInterval).
	Interval time.Duration `json:"interval,omitempty"`
	// ShrinkAfter is how long usage must stay at or under half a VM's
	// allocation before it is halved (0: DefaultShrinkAfter).
	ShrinkAfter time.Duration `json:"shrink_after,omitempty"`
	// Waiting are the VMs that started while no block was free, in the
	// order they started: they have no ports (nat_allocation_failed), and
	// each takes the first block that frees up.
	Waiting []netip.Addr `json:"waiting,omitempty"`
}

// IsPowerOfTwo reports whether n is a positive power of two.
func IsPowerOfTwo(n int) bool { return n > 0 && n&(n-1) == 0 }

// CeilPowerOfTwo is the smallest power of two >= n (1 for n <= 1).
func CeilPowerOfTwo(n int) int {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(n-1))
}

// FloorPowerOfTwo is the largest power of two <= n (0 for n < 1).
func FloorPowerOfTwo(n int) int {
	if n < 1 {
		return 0
	}
	return 1 << (bits.Len(uint(n)) - 1)
}

// MaxBlock is the largest block of a power-of-two size that fits a port
// range of size n: a VM's block lives on one NAT IP, so with Cloud NAT's
// 1024-65535 (64,512 ports) it is 32,768.
func MaxBlock(n int) int { return FloorPowerOfTwo(n) }

// GCPLayout places a first block of minPorts ports for each VM, in order,
// filling one NAT IP before the next. Blocks sit on boundaries of a slot
// (counted from ports.First): the largest power of two between minPorts
// and maxPorts that still gives every VM one, so that a block can double
// in place up to its slot. It returns the blocks and the slot size, or an
// error saying how many VMs fit.
func GCPLayout(vms, ips []netip.Addr, ports portrange.Range, minPorts, maxPorts int) ([]Slice, int, error) {
	if err := ports.Validate(); err != nil {
		return nil, 0, fmt.Errorf("gcp layout: %w", err)
	}
	if !IsPowerOfTwo(minPorts) || !IsPowerOfTwo(maxPorts) || maxPorts < minPorts {
		return nil, 0, fmt.Errorf("gcp layout: ports per VM %d-%d: want powers of two, min <= max", minPorts, maxPorts)
	}
	if len(ips) == 0 {
		return nil, 0, errors.New("gcp layout: no NAT IPs")
	}
	size := ports.Size()
	if minPorts > MaxBlock(size) {
		return nil, 0, fmt.Errorf("gcp layout: %d ports per VM do not fit one NAT IP's %d ports in a power-of-two block (at most %d)", minPorts, size, MaxBlock(size))
	}
	slot := 0
	for s := min(maxPorts, MaxBlock(size)); s >= minPorts; s /= 2 {
		if len(vms) <= len(ips)*(size/s) {
			slot = s
			break
		}
	}
	if slot == 0 {
		fit := len(ips) * (size / minPorts)
		return nil, 0, fmt.Errorf("gcp layout: %d VMs x %d ports need %d ports; %d NAT IPs x %d ports hold %d VMs", len(vms), minPorts, len(vms)*minPorts, len(ips), size, fit)
	}
	perIP := size / slot
	out := make([]Slice, 0, len(vms))
	for i, vm := range vms {
		first := int(ports.First) + (i%perIP)*slot
		out = append(out, Slice{Source: vm, IP: ips[i/perIP], Ports: portrange.Range{First: uint16(first), Last: uint16(first + minPorts - 1)}})
	}
	return out, slot, nil
}

// validateGCP checks the gcp-cloud-nat part of a config.
func (c Config) validateGCP() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("gcp-cloud-nat: "+format, args...)) }
	g := c.GCP
	if g == nil {
		return []error{errors.New("gcp-cloud-nat: the profile needs its settings (GCP)")}
	}
	if !IsPowerOfTwo(g.MinPorts) {
		add("min ports %d: want a power of two", g.MinPorts)
	}
	if !IsPowerOfTwo(g.MaxPorts) || g.MaxPorts < g.MinPorts {
		add("max ports %d: want a power of two, at least min ports %d", g.MaxPorts, g.MinPorts)
	}
	if !g.DynamicPortAllocation && g.MaxPorts != g.MinPorts {
		add("max ports %d without dynamic port allocation: want min ports %d", g.MaxPorts, g.MinPorts)
	}
	if g.DynamicPortAllocation && g.EndpointIndependentMapping {
		add("endpoint-independent mapping with dynamic port allocation: Cloud NAT allows one or the other")
	}
	if c.Hold <= 0 {
		add("hold (tcp_time_wait_timeout) %s: must be positive", c.Hold)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"established idle", g.EstablishedIdle}, {"transitory idle", g.TransitoryIdle}, {"udp idle", g.UDPIdle}} {
		if d.v < time.Second {
			add("%s timeout %s: want at least 1s", d.name, d.v)
		}
	}
	if g.Interval < 0 || g.ShrinkAfter < 0 {
		add("interval %s and shrink after %s: must not be negative", g.Interval, g.ShrinkAfter)
	}
	if len(c.Pools) != 1 {
		add("%d pools: the profile has one pool, its slices are the VMs", len(c.Pools))
		return errs
	}
	p := c.Pools[0]
	if len(p.Slices) == 0 && len(g.Waiting) == 0 {
		add("pool %q has no slices: every VM needs its block", p.Name)
	}
	has := map[netip.Addr]bool{}
	for _, s := range p.Slices {
		has[s.Source] = true
	}
	for _, vm := range g.Waiting {
		if has[vm] {
			add("VM %s is waiting for a block and has one", vm)
		}
		has[vm] = true
	}
	for i, s := range p.Slices {
		if s.Ports.Size() != g.MinPorts {
			add("slice %d (%s): %d ports, want min ports %d", i, s.Source, s.Ports.Size(), g.MinPorts)
		} else if (int(s.Ports.First)-int(p.Ports.First))%g.MinPorts != 0 {
			add("slice %d (%s): ports %s do not start on a %d-port boundary of %s", i, s.Source, s.Ports, g.MinPorts, p.Ports)
		}
	}
	return errs
}
