package testbed

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/natlab/natlab/internal/field"
	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/testbed/natcfg"
)

// NAT profiles (natcfg.Profiles): the default linux, and the managed NATs.
const (
	ProfileLinux       = natcfg.ProfileLinux
	ProfileGCPCloudNAT = natcfg.ProfileGCPCloudNAT
)

// Cloud NAT's documented defaults (docs/nat-profiles.md cites them).
const (
	GCPDefaultMinPortsPerVM    = 64    // without dynamic port allocation
	GCPDefaultMinPortsPerVMDPA = 32    // with it
	GCPMinPortsPerVMDPA        = 32    // the least min_ports_per_vm with it
	GCPDefaultMaxPortsPerVM    = 65536 // with it
	GCPMaxPortsPerVM           = 65536
	GCPDefaultTimeWait         = 120
	GCPDefaultEstablishedIdle  = 1200
	GCPDefaultTransitoryIdle   = 30
	GCPDefaultUDPIdle          = 30
)

// GCPPorts are the ports of every Cloud NAT IP: 1024-65535, 64,512 ports.
var GCPPorts = portrange.Range{First: 1024, Last: 65535}

// GCPCloudNAT are the settings of profile gcp-cloud-nat, named as
// Terraform's google_compute_router_nat names them so that they can be
// copied from infrastructure code. Zero means unset (the default).
type GCPCloudNAT struct {
	MinPortsPerVM               int  `json:"min_ports_per_vm,omitempty"`
	MaxPortsPerVM               int  `json:"max_ports_per_vm,omitempty"`
	EnableDynamicPortAllocation bool `json:"enable_dynamic_port_allocation,omitempty"`
	// EnableEndpointIndependentMapping is off by default, as in the
	// Compute API and Terraform's google provider since 5.0.
	EnableEndpointIndependentMapping bool `json:"enable_endpoint_independent_mapping,omitempty"`
	TCPTimeWaitTimeoutSec            int  `json:"tcp_time_wait_timeout_sec,omitempty"`
	TCPEstablishedIdleTimeoutSec     int  `json:"tcp_established_idle_timeout_sec,omitempty"`
	TCPTransitoryIdleTimeoutSec      int  `json:"tcp_transitory_idle_timeout_sec,omitempty"`
	UDPIdleTimeoutSec                int  `json:"udp_idle_timeout_sec,omitempty"`
}

// normalize fills in Cloud NAT's defaults. max_ports_per_vm has one only
// with dynamic port allocation: without it, a max is one the user gave.
func (g *GCPCloudNAT) normalize() {
	if g.MinPortsPerVM == 0 {
		g.MinPortsPerVM = GCPDefaultMinPortsPerVM
		if g.EnableDynamicPortAllocation {
			g.MinPortsPerVM = GCPDefaultMinPortsPerVMDPA
		}
	}
	if g.MaxPortsPerVM == 0 && g.EnableDynamicPortAllocation {
		g.MaxPortsPerVM = GCPDefaultMaxPortsPerVM
	}
	for _, d := range []struct {
		v   *int
		def int
	}{{&g.TCPTimeWaitTimeoutSec, GCPDefaultTimeWait}, {&g.TCPEstablishedIdleTimeoutSec, GCPDefaultEstablishedIdle},
		{&g.TCPTransitoryIdleTimeoutSec, GCPDefaultTransitoryIdle}, {&g.UDPIdleTimeoutSec, GCPDefaultUDPIdle}} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
}

// Allocation is the block a VM starts with: min_ports_per_vm rounded up to
// a power of two, as the Compute API documents for minPortsPerVm.
func (g *GCPCloudNAT) Allocation() int { return natcfg.CeilPowerOfTwo(g.MinPortsPerVM) }

// MaxAllocation is the most ports a VM's block may grow to: the maximum
// with dynamic port allocation, capped to the largest block one NAT IP
// holds (natlab keeps a VM's block on one NAT IP); the allocation without.
func (g *GCPCloudNAT) MaxAllocation() int {
	if !g.EnableDynamicPortAllocation {
		return g.Allocation()
	}
	return min(g.MaxPortsPerVM, natcfg.MaxBlock(GCPPorts.Size()))
}

// validateGCP checks a gcp-cloud-nat NAT; p is its path ("nats[0]").
// The settings are flat keys of the NAT in a scenario, and so are the
// paths: "nats[0].min_ports_per_vm".
func validateGCP(p string, n NATSpec) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, field.Errorf(p+"."+key, format, args...))
	}
	errs = append(errs, refuseLinuxKeys(p, ProfileGCPCloudNAT, []linuxKey{
		{"mode", n.Mode != "", "Cloud NAT always holds a closed connection's port, for tcp_time_wait_timeout_sec"},
		{"hold", n.Hold != 0, "use tcp_time_wait_timeout_sec"},
		{"allocation", n.Allocation != "", "use enable_dynamic_port_allocation"},
		{"ports_per_host", n.PortsPerHost != 0, "use min_ports_per_vm"},
		{"pools", len(n.Pools) > 0, "one Cloud NAT gateway serves every block behind it"},
		{"ports", n.Ports != GCPPorts, "every Cloud NAT IP offers ports " + GCPPorts.String() + " (64,512 ports)"},
	})...)
	g := n.GCP
	if g == nil {
		return append(errs, field.Errorf(p, "profile %q has no settings: normalize the spec first", ProfileGCPCloudNAT))
	}
	top := natcfg.MaxBlock(GCPPorts.Size())
	if g.EnableDynamicPortAllocation && g.EnableEndpointIndependentMapping {
		bad("enable_endpoint_independent_mapping", "true with enable_dynamic_port_allocation: true: Cloud NAT refuses the two together (with endpoint-independent mapping a VM keeps its static min_ports_per_vm); turn one off")
	}
	if g.EnableDynamicPortAllocation {
		switch {
		case g.MinPortsPerVM < GCPMinPortsPerVMDPA || !natcfg.IsPowerOfTwo(g.MinPortsPerVM):
			bad("min_ports_per_vm", "%d: with enable_dynamic_port_allocation, min_ports_per_vm must be a power of two of at least %d (32, 64, 128, ... %d)",
				g.MinPortsPerVM, GCPMinPortsPerVMDPA, top)
		case g.MinPortsPerVM > top:
			bad("min_ports_per_vm", "%d: natlab keeps a VM's ports on one NAT IP, whose %d ports hold a power-of-two block of at most %d", g.MinPortsPerVM, GCPPorts.Size(), top)
		}
		if !natcfg.IsPowerOfTwo(g.MaxPortsPerVM) || g.MaxPortsPerVM <= g.MinPortsPerVM || g.MaxPortsPerVM > GCPMaxPortsPerVM {
			bad("max_ports_per_vm", "%d: with enable_dynamic_port_allocation, max_ports_per_vm must be a power of two greater than min_ports_per_vm %d, at most %d",
				g.MaxPortsPerVM, g.MinPortsPerVM, GCPMaxPortsPerVM)
		}
	} else {
		if g.MaxPortsPerVM != 0 {
			bad("max_ports_per_vm", "max_ports_per_vm can only be set with enable_dynamic_port_allocation: true (without it a VM has min_ports_per_vm ports)")
		}
		switch {
		case g.MinPortsPerVM < 1 || g.MinPortsPerVM > GCPMaxPortsPerVM:
			bad("min_ports_per_vm", "%d: want 1 to %d ports per VM", g.MinPortsPerVM, GCPMaxPortsPerVM)
		case g.Allocation() > top:
			bad("min_ports_per_vm", "%d rounds up to %d ports: natlab keeps a VM's ports on one NAT IP, whose %d ports hold a power-of-two block of at most %d",
				g.MinPortsPerVM, g.Allocation(), GCPPorts.Size(), top)
		}
	}
	for _, t := range []struct {
		key string
		v   int
	}{{"tcp_time_wait_timeout_sec", g.TCPTimeWaitTimeoutSec}, {"tcp_established_idle_timeout_sec", g.TCPEstablishedIdleTimeoutSec},
		{"tcp_transitory_idle_timeout_sec", g.TCPTransitoryIdleTimeoutSec}, {"udp_idle_timeout_sec", g.UDPIdleTimeoutSec}} {
		if t.v < 1 || t.v > maxTimeoutSec {
			bad(t.key, "%d: want a number of seconds from 1 to %d", t.v, maxTimeoutSec)
		}
	}
	return errs
}

// maxTimeoutSec bounds the idle timeouts (a ct timeout policy counts
// seconds in 32 bits; a year is more than any NAT keeps a flow).
const maxTimeoutSec = 365 * 24 * 3600

// validateGCPSettingsOff refuses gcp-cloud-nat settings on a NAT of
// another profile.
func validateGCPSettingsOff(p string, n NATSpec) []error {
	g := n.GCP
	if g == nil {
		return nil
	}
	var errs []error
	for _, s := range []struct {
		key string
		set bool
	}{{"min_ports_per_vm", g.MinPortsPerVM != 0}, {"max_ports_per_vm", g.MaxPortsPerVM != 0},
		{"enable_dynamic_port_allocation", g.EnableDynamicPortAllocation},
		{"enable_endpoint_independent_mapping", g.EnableEndpointIndependentMapping}, {"tcp_time_wait_timeout_sec", g.TCPTimeWaitTimeoutSec != 0},
		{"tcp_established_idle_timeout_sec", g.TCPEstablishedIdleTimeoutSec != 0}, {"tcp_transitory_idle_timeout_sec", g.TCPTransitoryIdleTimeoutSec != 0},
		{"udp_idle_timeout_sec", g.UDPIdleTimeoutSec != 0}} {
		if s.set {
			errs = append(errs, field.Errorf(p+"."+s.key, "%s is a setting of profile %q: set profile: %s", s.key, ProfileGCPCloudNAT, ProfileGCPCloudNAT))
		}
	}
	return errs
}

// gcpFits checks that every VM behind a gcp-cloud-nat NAT gets its first
// block: each client host is one VM for its link address besides one per
// source address. A standby host's VMs ask for theirs when they start,
// and may find none.
func gcpFits(s *Spec, l *Layout, n NATSpec) error {
	vms, hosts := 0, 0
	for _, c := range l.Hosts {
		if c.Standby {
			continue
		}
		for _, b := range s.Blocks {
			if b.Name == c.Block && b.NAT == n.Name {
				vms += 1 + len(c.Sources)
				hosts++
			}
		}
	}
	alloc := n.GCP.Allocation()
	perIP := GCPPorts.Size() / alloc
	if fit := n.IPs * perIP; vms > fit {
		need := (vms + perIP - 1) / perIP
		return field.Errorf("min_ports_per_vm", "%d VMs (the %d addresses and the link address of %s) x %d ports do not fit %s x %d ports, which hold %d: want nat_ips: %d or a smaller min_ports_per_vm",
			vms, vms-hosts, plural(hosts, "client host"), alloc, plural(n.IPs, "NAT IP"), GCPPorts.Size(), fit, need)
	}
	return nil
}

// gcpNATConfig is the kernel config of a gcp-cloud-nat NAT: one pool of
// every block behind it, one VM per client address with its first block.
func gcpNATConfig(spec *NATSpec, l *Layout, nl NATLayout, name string) (natcfg.Config, error) {
	g := spec.GCP
	if g == nil {
		return natcfg.Config{}, errors.New("gcp-cloud-nat: no settings (normalize the spec)")
	}
	pool := natcfg.Pool{Name: "cloud-nat", IPs: nl.IPs, Ports: GCPPorts}
	var vms []netip.Addr
	for _, b := range l.Blocks {
		if b.NAT != name {
			continue
		}
		pool.Sources = append(pool.Sources, b.Prefix)
		for _, c := range l.Hosts {
			if c.Block == b.Name && !c.Standby {
				vms = append(vms, c.Link)
				vms = append(vms, c.Sources...)
			}
		}
	}
	blocks, _, err := natcfg.GCPLayout(vms, nl.IPs, GCPPorts, g.Allocation(), g.MaxAllocation())
	if err != nil {
		return natcfg.Config{}, fmt.Errorf("nat %s: %w", name, err)
	}
	pool.Slices = blocks
	sec := func(n int) time.Duration { return time.Duration(n) * time.Second }
	return natcfg.Config{
		WAN:           WANInterface,
		PortSelection: spec.PortSelection,
		ConnLimit:     spec.ConnLimit,
		Hold:          sec(g.TCPTimeWaitTimeoutSec),
		Profile:       natcfg.ProfileGCPCloudNAT,
		Pools:         []natcfg.Pool{pool},
		GCP: &natcfg.GCPConfig{
			MinPorts:                   g.Allocation(),
			MaxPorts:                   g.MaxAllocation(),
			DynamicPortAllocation:      g.EnableDynamicPortAllocation,
			EndpointIndependentMapping: g.EnableEndpointIndependentMapping,
			EstablishedIdle:            sec(g.TCPEstablishedIdleTimeoutSec),
			TransitoryIdle:             sec(g.TCPTransitoryIdleTimeoutSec),
			UDPIdle:                    sec(g.UDPIdleTimeoutSec),
		},
	}, nil
}

// linuxKey is a setting of the linux profile that a managed profile
// refuses: its key, whether the spec sets it, and what to use instead.
type linuxKey struct {
	key    string
	set    bool
	reason string
}

// refuseLinuxKeys names each linux-only setting a NAT of profile sets.
func refuseLinuxKeys(p, profile string, keys []linuxKey) []error {
	var errs []error
	for _, k := range keys {
		if k.set {
			errs = append(errs, field.Errorf(p+"."+k.key, "is a setting of profile %q, not %q: %s", ProfileLinux, profile, k.reason))
		}
	}
	return errs
}

// NATOfBlock is the NAT that origin block serves through.
func (s *Spec) NATOfBlock(block string) (NATSpec, bool) {
	for _, b := range s.Blocks {
		if b.Name != block {
			continue
		}
		for _, n := range s.NATs {
			if n.Name == b.NAT {
				return n, true
			}
		}
	}
	return NATSpec{}, false
}

// ProfileName is the NAT's profile, linux when unset.
func (n NATSpec) ProfileName() string {
	if n.Profile == "" {
		return ProfileLinux
	}
	return n.Profile
}

// HostVMs are the Cloud NAT VMs of client host name: its link and source
// addresses, every one a VM; false when l has no such host.
func (l *Layout) HostVMs(name string) ([]netip.Addr, bool) {
	for _, c := range l.Hosts {
		if c.Name == name {
			return append([]netip.Addr{c.Link}, c.Sources...), true
		}
	}
	return nil, false
}
