package natcfg

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/natlab/natlab/internal/portrange"
)

// PortSelection is how the kernel picks a NAT port for a new flow.
type PortSelection string

// Port selection modes.
const (
	// PortSelectionDefault keeps the source port when free, else searches.
	PortSelectionDefault PortSelection = ""
	// PortSelectionRandom randomizes the port search start (NF_NAT_RANGE_PROTO_RANDOM).
	PortSelectionRandom PortSelection = "random"
	// PortSelectionFullyRandom picks ports with a full PRNG (NF_NAT_RANGE_PROTO_RANDOM_FULLY).
	PortSelectionFullyRandom PortSelection = "fully-random"
)

// Config is everything the NAT box applies to its namespace.
type Config struct {
	// WAN is the outside interface: SNAT applies to packets leaving it.
	WAN string
	// Pools are the SNAT pools; their origin blocks must not overlap.
	Pools []Pool
	// PortSelection chooses the kernel's port allocation mode.
	PortSelection PortSelection
	// Hold is 0 for plain Linux NAT; above 0 it is managed-NAT mode: a
	// TCP mapping stays held this long after its flow saw FIN or RST, and a
	// new SYN that lands on a held mapping is dropped.
	Hold time.Duration
	// ConnLimit is 0 for none; above 0 it is an nftables `ct count`
	// ceiling on new forwarded flows, the conntrack-full emulation
	// (nf_conntrack_max is read-only in a non-initial netns).
	ConnLimit int
	// Profile is one of Profiles; "" is ProfileLinux.
	Profile string `json:",omitempty"`
	// GCP holds the settings of ProfileGCPCloudNAT (nil otherwise).
	GCP *GCPConfig `json:",omitempty"`
	// AWS holds the settings of ProfileAWSNATGateway (nil otherwise).
	AWS *AWSConfig `json:",omitempty"`
}

// Pool is a set of NAT IPs that serves some origin blocks.
type Pool struct {
	// Name identifies the pool in metrics.
	Name string
	// Sources are the origin blocks (client subnets) this pool serves.
	Sources []netip.Prefix
	// IPs are the NAT IPs; the caller configures them on the WAN interface.
	IPs []netip.Addr
	// Ports is the port range used on every NAT IP.
	Ports portrange.Range
	// Slices is the static per-host allocation ("min ports per VM"); empty
	// means one shared pool. With slices, a source of the pool that has no
	// slice is not translated: its new flows are dropped.
	Slices []Slice
}

// Slice pins one source address to a NAT IP and a port sub-range.
type Slice struct {
	Source netip.Addr
	IP     netip.Addr
	Ports  portrange.Range
}

// maxIfName is IFNAMSIZ minus the terminating NUL.
const maxIfName = 15

// Validate reports every problem of the config at once.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.WAN == "" {
		add("wan: interface name is empty")
	} else if len(c.WAN) > maxIfName {
		add("wan: interface name %q is longer than %d bytes", c.WAN, maxIfName)
	}
	switch c.PortSelection {
	case PortSelectionDefault, PortSelectionRandom, PortSelectionFullyRandom:
	default:
		add("port selection %q: want \"\", \"random\" or \"fully-random\"", c.PortSelection)
	}
	if c.Hold < 0 {
		add("hold %s: must be 0 (plain NAT) or positive (managed NAT)", c.Hold)
	} else if c.Hold > 0 && c.Hold < time.Millisecond {
		add("hold %s: must be at least 1ms", c.Hold)
	}
	if c.ConnLimit < 0 {
		add("conn limit %d: must be 0 (none) or positive", c.ConnLimit)
	}
	if len(c.Pools) == 0 {
		add("pools: none given, need at least one pool")
	}
	switch c.Profile {
	case "", ProfileLinux:
		if c.GCP != nil {
			add("profile %q: gcp-cloud-nat settings need profile %q", c.Profile, ProfileGCPCloudNAT)
		}
		if c.AWS != nil {
			add("profile %q: aws-nat-gateway settings need profile %q", c.Profile, ProfileAWSNATGateway)
		}
	case ProfileGCPCloudNAT:
		errs = append(errs, c.validateGCP()...)
		if c.AWS != nil {
			add("profile %q: aws-nat-gateway settings need profile %q", c.Profile, ProfileAWSNATGateway)
		}
	case ProfileAWSNATGateway:
		errs = append(errs, c.validateAWS()...)
		if c.GCP != nil {
			add("profile %q: gcp-cloud-nat settings need profile %q", c.Profile, ProfileGCPCloudNAT)
		}
	default:
		add("profile %q: valid profiles are %q", c.Profile, Profiles)
	}
	names := map[string]bool{}
	ipOwner := map[netip.Addr]string{}
	type src struct {
		pool string
		p    netip.Prefix
	}
	var sources []src
	for i, p := range c.Pools {
		label := fmt.Sprintf("pool %d %q", i, p.Name)
		if p.Name == "" {
			add("pool %d: name is empty", i)
		} else if names[p.Name] {
			add("%s: name used by another pool", label)
		}
		names[p.Name] = true
		errs = append(errs, validatePool(label, p)...)
		for _, ip := range p.IPs {
			if owner, ok := ipOwner[ip]; ok && owner != label {
				add("%s: NAT IP %s is also in %s", label, ip, owner)
			}
			ipOwner[ip] = label
		}
		for _, s := range p.Sources {
			if !s.IsValid() || !s.Addr().Is4() {
				continue
			}
			for _, o := range sources {
				if o.p.Overlaps(s) {
					add("%s: source %s overlaps %s of %s", label, s, o.p, o.pool)
				}
			}
			sources = append(sources, src{label, s.Masked()})
		}
	}
	return errors.Join(errs...)
}

func validatePool(label string, p Pool) []error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(label+": "+format, args...))
	}
	if len(p.Sources) == 0 {
		add("no sources (origin blocks), need at least one prefix such as 198.18.200.0/24")
	}
	for _, s := range p.Sources {
		if !s.IsValid() || !s.Addr().Is4() {
			add("source %s: want an IPv4 prefix", s)
		}
	}
	if len(p.IPs) == 0 {
		add("no NAT IPs, need at least one")
	}
	seen := map[netip.Addr]bool{}
	for _, ip := range p.IPs {
		if !ip.Is4() {
			add("NAT IP %s: want an IPv4 address", ip)
		} else if seen[ip] {
			add("NAT IP %s: listed twice", ip)
		}
		seen[ip] = true
	}
	if err := p.Ports.Validate(); err != nil {
		add("%w", err)
	}
	sliceSrc := map[netip.Addr]bool{}
	for i, s := range p.Slices {
		sl := fmt.Sprintf("slice %d (%s)", i, s.Source)
		if !s.Source.Is4() {
			add("%s: source must be an IPv4 address", sl)
		} else if !inAny(s.Source, p.Sources) {
			add("%s: source is outside the pool's sources", sl)
		}
		if sliceSrc[s.Source] {
			add("%s: source has another slice", sl)
		}
		sliceSrc[s.Source] = true
		if !seen[s.IP] {
			add("%s: NAT IP %s is not one of the pool's IPs", sl, s.IP)
		}
		if err := s.Ports.Validate(); err != nil {
			add("%s: %w", sl, err)
		} else if !p.Ports.Contains(s.Ports) {
			add("%s: ports %s are outside the pool range %s", sl, s.Ports, p.Ports)
		}
		for j := 0; j < i; j++ {
			o := p.Slices[j]
			if o.IP == s.IP && o.Ports.Overlaps(s.Ports) && s.Ports.Validate() == nil {
				add("%s: ports %s on %s overlap slice %d (%s) ports %s", sl, s.Ports, s.IP, j, o.Source, o.Ports)
			}
		}
	}
	return errs
}

func inAny(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// NATIPs lists every NAT IP of the config.
func (c Config) NATIPs() []netip.Addr {
	var out []netip.Addr
	for _, p := range c.Pools {
		out = append(out, p.IPs...)
	}
	return out
}
