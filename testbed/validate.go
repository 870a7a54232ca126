package testbed

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/natlab/natlab/internal/field"
	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/testbed/natcfg"
	"github.com/natlab/natlab/testbed/service"
)

var hostName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,23}$`)

// Normalize fills in defaults: one NAT named "nat" when none is given, one
// origin block named "clients" routed through the first NAT, the linux
// profile in linux mode with shared allocation (or Cloud NAT's defaults
// for profile gcp-cloud-nat), and host names where they are missing.
func (s *Spec) Normalize() {
	if len(s.NATs) == 0 {
		s.NATs = []NATSpec{{}}
	}
	for i := range s.NATs {
		n := &s.NATs[i]
		if n.Name == "" {
			n.Name = indexedName(DefaultNATName, i)
		}
		if n.IPs == 0 && len(n.Pools) > 0 {
			for _, p := range n.Pools {
				n.IPs += p.IPs
			}
		}
		if n.Ports == (portrange.Range{}) {
			n.Ports = portrange.Range{First: 1024, Last: 65535}
		}
		if n.Profile == "" {
			n.Profile = ProfileLinux
		}
		if n.Profile == ProfileGCPCloudNAT {
			// Cloud NAT has no mode or allocation scheme of natlab's:
			// they stay unset, and set they are refused.
			if n.GCP == nil {
				n.GCP = &GCPCloudNAT{}
			}
			n.GCP.normalize()
			continue
		}
		if n.Profile == ProfileAWSNATGateway {
			if n.AWS == nil {
				n.AWS = &AWSNATGateway{}
			}
			n.AWS.normalize()
			continue
		}
		if n.Mode == "" {
			n.Mode = ModeLinux
		}
		if n.Mode == ModeManaged && n.Hold == 0 {
			n.Hold = DefaultHold
		}
		if n.Allocation == "" {
			n.Allocation = AllocShared
		}
	}
	for i := range s.Clients {
		c := &s.Clients[i]
		if c.Name == "" {
			c.Name = indexedName("client", i)
		}
		if c.Block == "" {
			c.Block = DefaultBlock
		}
		if c.Addresses == 0 {
			c.Addresses = 1
		}
	}
	known := map[string]bool{}
	for _, b := range s.Blocks {
		known[b.Name] = true
	}
	s.normalizeApps()
	for _, c := range append(append([]ClientSpec(nil), s.Clients...), s.appHosts()...) {
		if !known[c.Block] {
			known[c.Block] = true
			s.Blocks = append(s.Blocks, BlockSpec{Name: c.Block})
		}
	}
	for i := range s.Blocks {
		if s.Blocks[i].NAT == "" {
			s.Blocks[i].NAT = s.NATs[0].Name
		}
	}
	for i := range s.Backends {
		if s.Backends[i].Name == "" {
			s.Backends[i].Name = indexedName("backend", i)
		}
	}
}

func indexedName(base string, i int) string {
	if i == 0 {
		return base
	}
	return fmt.Sprintf("%s%d", base, i+1)
}

// Validate reports every problem of a normalized Spec at once, each as a
// *field.Error (path "nats[0].ports") joined with errors.Join. It checks only what can be known
// before anything is created.
func (s *Spec) Validate() error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, field.Errorf(path, format, args...))
	}
	names := map[string]string{}
	checkName := func(path, name string) {
		if !hostName.MatchString(name) {
			bad(path+".name", "%q is not a valid host name: use 1-24 lowercase letters, digits or '-', starting with a letter", name)
			return
		}
		if prev, dup := names[name]; dup {
			bad(path+".name", "%q is already used by %s: host names must be unique", name, prev)
			return
		}
		names[name] = path
	}
	if len(s.NATs) == 0 {
		bad("nats", "at least one NAT box is needed")
	}
	natIndex := map[string]int{}
	totalNATIPs := 0
	for i, n := range s.NATs {
		p := fmt.Sprintf("nats[%d]", i)
		checkName(p, n.Name)
		natIndex[n.Name] = i
		totalNATIPs += n.IPs
		if n.IPs < 1 || n.IPs > MaxNATIPs {
			bad(p+".ips", "%d NAT IPs: a NAT box needs between 1 and %d NAT IPs", n.IPs, MaxNATIPs)
		}
		if err := n.Ports.Validate(); err != nil {
			bad(p+".ports", "%v", err)
		}
		switch n.Profile {
		case ProfileLinux:
			errs = append(errs, validateLinux(p, n, s.Blocks)...)
		case ProfileGCPCloudNAT:
			errs = append(errs, validateGCP(p, n)...)
			errs = append(errs, validateAWSSettingsOff(p, n)...)
		case ProfileAWSNATGateway:
			errs = append(errs, validateAWS(p, n)...)
			errs = append(errs, validateGCPSettingsOff(p, n)...)
		default:
			errs = append(errs, &field.Error{Path: p + ".profile", Valid: natcfg.Profiles,
				Msg: fmt.Sprintf("unknown profile %q: valid profiles are %s", n.Profile, quoted(natcfg.Profiles))})
		}
		switch n.PortSelection {
		case "", "random", "fully-random":
		default:
			bad(p+".port_selection", "unknown port selection %q: valid are \"random\" and \"fully-random\" (or leave it out for the kernel default)", n.PortSelection)
		}
		if n.ConnLimit < 0 {
			bad(p+".conn_limit", "conn_limit %d is negative", n.ConnLimit)
		}
		for j, sc := range n.Sysctls {
			if sc.IgnoreError {
				continue // '-' in front of a key lets it fail, as in sysctl.conf
			}
			if err := natcfg.ValidateSysctlKey(sc.Key); err != nil {
				bad(fmt.Sprintf("%s.sysctls[%d]", p, j), "%v", err)
			} else if err := natcfg.ValidateSysctlValue(sc.Key, sc.Value); err != nil {
				bad(fmt.Sprintf("%s.sysctls[%d]", p, j), "%v", err)
			}
		}
	}
	if totalNATIPs > MaxNATIPs {
		bad("nats", "%d NAT IPs in all: at most %d fit the public subnet", totalNATIPs, MaxNATIPs)
	}
	blocks := map[string]bool{}
	for i, b := range s.Blocks {
		p := fmt.Sprintf("blocks[%d]", i)
		if !hostName.MatchString(b.Name) {
			bad(p+".name", "%q is not a valid block name: use 1-24 lowercase letters, digits or '-'", b.Name)
		}
		if blocks[b.Name] {
			bad(p+".name", "block %q is defined twice", b.Name)
		}
		blocks[b.Name] = true
		if _, ok := natIndex[b.NAT]; !ok {
			bad(p+".nat", "unknown NAT %q: known NATs are %s", b.NAT, keys(natIndex))
		}
	}
	if len(s.Clients) == 0 {
		bad("clients", "at least one client host is needed")
	}
	if len(s.Clients) > MaxHostsPerRole {
		bad("clients", "%d client hosts: at most %d", len(s.Clients), MaxHostsPerRole)
	}
	for i, c := range s.Clients {
		p := fmt.Sprintf("clients[%d]", i)
		checkName(p, c.Name)
		if c.Addresses < 1 || c.Addresses > MaxAddresses {
			bad(p+".addresses", "%d source addresses: a client host carries between 1 and %d", c.Addresses, MaxAddresses)
		}
		if !blocks[c.Block] {
			bad(p+".block", "unknown origin block %q", c.Block)
		}
		if c.Standby {
			if n, ok := s.NATOfBlock(c.Block); ok && n.Profile != ProfileGCPCloudNAT {
				bad(p+".standby", "a standby host's VMs get their ports when a vm-start fault starts them, on a %s NAT; block %s goes through %s, profile %s",
					ProfileGCPCloudNAT, c.Block, n.Name, n.ProfileName())
			}
		}
	}
	errs = append(errs, s.validateApps(checkName, blocks)...)
	if len(s.Backends) == 0 {
		bad("backends", "at least one backend is needed")
	}
	if len(s.Backends) > MaxHostsPerRole {
		bad("backends", "%d backends: at most %d", len(s.Backends), MaxHostsPerRole)
	}
	for i, b := range s.Backends {
		p := fmt.Sprintf("backends[%d]", i)
		checkName(p, b.Name)
		if b.Processes < 0 || b.Processes > MaxBackendProcesses {
			bad(p+".processes", "%d processes: want 1 to %d", b.Processes, MaxBackendProcesses)
		}
		if b.Backlog < 0 || b.Backlog > 1<<20 {
			bad(p+".backlog", "backlog %d: want 1 to %d (0 means %d)", b.Backlog, 1<<20, DefaultBacklog)
		}
		ports := map[string]bool{}
		listeners := append([]BackendListener{{Protocol: b.Protocol, Port: b.Port}}, b.Extra...)
		if b.Dependency.Concurrency < 0 || b.Dependency.Latency < 0 {
			bad(p+".dependency", "concurrency %d and latency %s: want 0 or more", b.Dependency.Concurrency, b.Dependency.Latency)
		}
		if b.VerifyTimeout < 0 {
			bad(p+".verify_timeout", "%s: want more than 0 (0 means %s)", b.VerifyTimeout, service.DefaultVerifyTimeout)
		}
		if (b.Dependency != service.Dependency{} || b.VerifyTimeout != 0) && !slices.ContainsFunc(listeners, func(l BackendListener) bool { return l.Protocol.HasDependency() }) {
			bad(p+".dependency", "backend %s serves no %s or %s listener: only they verify through a dependency", b.Name, service.Registrar, service.Rendezvous)
		}
		for j, l := range listeners {
			lp := p
			if j > 0 {
				lp = fmt.Sprintf("%s.extra[%d]", p, j-1)
			}
			if err := (service.Spec{Name: b.Name, Protocol: l.Protocol, Addr: fmt.Sprintf(":%d", l.Port)}).Validate(); err != nil {
				bad(lp, "%v", err)
			}
			if l.Port == 0 {
				bad(lp+".port", "port 0: a backend listens on a port from 1 to 65535")
			}
			key := fmt.Sprintf("%s/%d", transport(l.Protocol), l.Port)
			if ports[key] {
				bad(lp+".port", "port %d is already used on this backend", l.Port)
			}
			ports[key] = true
		}
	}
	if len(errs) == 0 {
		// The address plan has the same shape in every slot: what does
		// not fit in slot 0 fits nowhere.
		if l, err := Plan(s, 0); err != nil {
			bad("clients", "%v", err)
		} else {
			for i, n := range s.NATs {
				switch {
				case n.Profile == ProfileGCPCloudNAT:
					errs = append(errs, field.Prefix(fmt.Sprintf("nats[%d]", i), gcpFits(s, l, n)))
				case n.Allocation == AllocStatic:
					errs = append(errs, field.Prefix(fmt.Sprintf("nats[%d]", i), staticFits(s, l, n)))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// staticFits checks that every source address behind a NAT with static
// allocation gets its slice of ports_per_host ports: each client host
// takes one for its link address besides its source addresses.
func staticFits(s *Spec, l *Layout, n NATSpec) error {
	pools := n.Pools
	if len(pools) == 0 {
		shared := PoolSpec{Name: "shared", IPs: n.IPs}
		for _, b := range s.Blocks {
			if b.NAT == n.Name {
				shared.Blocks = append(shared.Blocks, b.Name)
			}
		}
		pools = []PoolSpec{shared}
	}
	var errs []error
	for _, ps := range pools {
		sources, hosts := 0, 0
		for _, c := range l.Hosts {
			if slices.Contains(ps.Blocks, c.Block) {
				sources += 1 + len(c.Sources)
				hosts++
			}
		}
		perIP := n.Ports.Size() / n.PortsPerHost
		if fit := perIP * ps.IPs; sources > fit {
			most := n.Ports.Size() / ((sources + ps.IPs - 1) / ps.IPs)
			fix := fmt.Sprintf("want ports_per_host at most %d, a wider ports range or more ips", most)
			if most < 1 {
				fix = "widen ports or add ips"
			}
			errs = append(errs, field.Errorf("ports_per_host", "static slices of %d ports do not fit pool %q: it serves %d source addresses (the %d addresses and the link address of %s), "+
				"but %s x %d ports (%s) hold %d slices: %s", n.PortsPerHost, ps.Name, sources, sources-hosts, plural(hosts, "client host"),
				plural(ps.IPs, "NAT IP"), n.Ports.Size(), n.Ports, fit, fix))
		}
	}
	return errors.Join(errs...)
}

// validateLinux checks what only the linux profile has: mode, allocation,
// pools, and no settings of another profile.
func validateLinux(p string, n NATSpec, blocks []BlockSpec) []error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, field.Errorf(path, format, args...))
	}
	switch n.Mode {
	case ModeLinux:
		if n.Hold != 0 {
			bad(p+".hold", "a hold time needs mode %q (mode %q is the plain Linux NAT)", ModeManaged, ModeLinux)
		}
	case ModeManaged:
		if n.Hold < 0 {
			bad(p+".hold", "hold %s is negative", n.Hold)
		}
	default:
		bad(p+".mode", "unknown mode %q: valid modes are %q and %q", n.Mode, ModeLinux, ModeManaged)
	}
	switch n.Allocation {
	case AllocShared:
		if n.PortsPerHost != 0 {
			bad(p+".ports_per_host", "ports per host need allocation %q", AllocStatic)
		}
	case AllocStatic:
		if n.PortsPerHost < 1 {
			bad(p+".ports_per_host", "static allocation needs ports_per_host of at least 1")
		} else if n.Ports.Validate() == nil && n.PortsPerHost > n.Ports.Size() {
			bad(p+".ports_per_host", "%d ports per host do not fit the range %s of %d ports", n.PortsPerHost, n.Ports, n.Ports.Size())
		}
	default:
		bad(p+".allocation", "unknown allocation %q: valid are %q and %q", n.Allocation, AllocShared, AllocStatic)
	}
	errs = append(errs, validateGCPSettingsOff(p, n)...)
	errs = append(errs, validateAWSSettingsOff(p, n)...)
	return append(errs, validatePools(p, n, blocks)...)
}

func validatePools(p string, n NATSpec, blocks []BlockSpec) []error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, field.Errorf(path, format, args...))
	}
	if len(n.Pools) == 0 {
		return nil
	}
	behind := map[string]bool{}
	for _, b := range blocks {
		if b.NAT == n.Name {
			behind[b.Name] = true
		}
	}
	claimed := map[string]string{}
	ips := 0
	for j, pool := range n.Pools {
		pp := fmt.Sprintf("%s.pools[%d]", p, j)
		if pool.IPs < 1 {
			bad(pp+".ips", "a pool needs at least 1 NAT IP")
		}
		ips += pool.IPs
		if len(pool.Blocks) == 0 {
			bad(pp+".blocks", "a pool serves at least one origin block")
		}
		for _, b := range pool.Blocks {
			if !behind[b] {
				bad(pp+".blocks", "origin block %q is not routed through NAT %q", b, n.Name)
				continue
			}
			if prev, dup := claimed[b]; dup {
				bad(pp+".blocks", "overlapping pools: origin block %q is already served by pool %q", b, prev)
			}
			claimed[b] = pool.Name
		}
	}
	if ips != n.IPs {
		bad(p+".pools", "the pools use %d NAT IPs but the NAT has %d: they must add up", ips, n.IPs)
	}
	for b := range behind {
		if _, ok := claimed[b]; !ok {
			bad(p+".pools", "origin block %q has no pool: with pools, every block behind the NAT needs one", b)
		}
	}
	return errs
}

func transport(p service.Protocol) string { return p.Network() }

func keys[V any](m map[string]V) string {
	var out []string
	for k := range m {
		out = append(out, fmt.Sprintf("%q", k))
	}
	if len(out) == 0 {
		return "none"
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// quoted renders names as "a", "b" and "c".
func quoted(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	if len(q) < 2 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
