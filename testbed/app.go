package testbed

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/natlab/natlab/internal/field"
	"github.com/natlab/natlab/testbed/service"
)

// RoleApp is an app host: a private-side service host that serves inbound
// HTTP from the client hosts of its block (an internal load balancer's
// callers) and calls an outside dependency through its block's NAT.
const RoleApp Role = "app"

// How an app calls its outside dependency.
const (
	// CallsPerRequest calls the dependency for every inbound request; a
	// failed call answers the caller 502.
	CallsPerRequest = "request"
	// CallsAtBoot calls it only at boot (to fetch its config).
	CallsAtBoot = "boot"
	// CallsPooled calls the dependency for every inbound request, as
	// CallsPerRequest, on keep-alive connections the host keeps (at most
	// CallPool); a call on a connection the NAT reset fails, a 502.
	CallsPooled = "pooled"
)

// Defaults of an app tier, filled in by Normalize.
const (
	DefaultAppPort        = 8080
	DefaultCallTimeout    = 500 * time.Millisecond
	DefaultCallPool       = 4
	MaxCallPool           = 256
	DefaultCheckInterval  = time.Second
	DefaultCheckTimeout   = 500 * time.Millisecond
	DefaultCheckFailures  = 3
	DefaultBootTimeout    = 900 * time.Millisecond
	DefaultBootBackoff    = time.Second
	DefaultBootFactor     = 2.0
	DefaultBootMaxBackoff = 30 * time.Second
	MaxAppHosts           = 16
)

// AppSpec is an app tier of one zone: Hosts app hosts in origin block
// Block, each serving HTTP on Port and calling the backend Dependency
// through the block's NAT. A supervisor (the cloud's auto-recovery)
// checks every host through the NAT against the backend Health and
// restarts a host after Check.Failures failed checks in a row; a host
// that starts must fetch its config from Dependency (Boot: retry with
// exponential backoff) before it serves.
type AppSpec struct {
	Name  string `json:"name"`
	Zone  string `json:"zone,omitempty"`
	Block string `json:"block"`
	Hosts int    `json:"hosts"`
	Port  uint16 `json:"port"`
	// Dependency is the backend (an http1 listener) the app calls, on
	// DependencyPort (0: the backend's first port).
	Dependency     string `json:"dependency"`
	DependencyPort uint16 `json:"dependency_port,omitempty"`
	// Calls is CallsPerRequest, CallsPooled or CallsAtBoot.
	Calls string `json:"calls"`
	// CallPool is the most keep-alive connections of a host's calls
	// (CallsPooled only).
	CallPool int `json:"call_pool,omitempty"`
	// CallTimeout bounds one dependency call of a request.
	CallTimeout time.Duration `json:"call_timeout"`
	// Health is the backend the health checks reach (default Dependency).
	Health     string    `json:"health"`
	HealthPort uint16    `json:"health_port,omitempty"`
	Check      CheckSpec `json:"check"`
	Boot       BootSpec  `json:"boot"`
}

// CheckSpec is the supervisor's health check of an app host.
type CheckSpec struct {
	Interval time.Duration `json:"interval"`
	Timeout  time.Duration `json:"timeout"`
	// Failures in a row make the supervisor restart the host.
	Failures int `json:"failures"`
}

// BootSpec is how an app host fetches its config when it starts: one
// attempt takes at most Timeout; after a failed one it waits Backoff,
// then Backoff*Factor, ... at most MaxBackoff.
type BootSpec struct {
	Timeout    time.Duration `json:"timeout"`
	Backoff    time.Duration `json:"backoff"`
	Factor     float64       `json:"factor"`
	MaxBackoff time.Duration `json:"max_backoff"`
}

// HostNames are the names of the app's hosts: NAME-1, NAME-2, ...
func (a AppSpec) HostNames() []string {
	out := make([]string, a.Hosts)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", a.Name, i+1)
	}
	return out
}

// App returns the app a host belongs to.
func (s *Spec) App(host string) (AppSpec, bool) {
	for _, a := range s.Apps {
		for _, h := range a.HostNames() {
			if h == host {
				return a, true
			}
		}
	}
	return AppSpec{}, false
}

// appHosts are the app hosts as the address plan sees them: hosts of a
// block with one address each.
func (s *Spec) appHosts() []ClientSpec {
	var out []ClientSpec
	for _, a := range s.Apps {
		for _, h := range a.HostNames() {
			out = append(out, ClientSpec{Name: h, Block: a.Block, Addresses: 1, Role: RoleApp})
		}
	}
	return out
}

func (s *Spec) normalizeApps() {
	for i := range s.Apps {
		a := &s.Apps[i]
		if a.Name == "" {
			a.Name = indexedName("app", i)
		}
		if a.Block == "" {
			a.Block = DefaultBlock
		}
		if a.Hosts == 0 {
			a.Hosts = 1
		}
		if a.Port == 0 {
			a.Port = DefaultAppPort
		}
		if a.Calls == "" {
			a.Calls = CallsPerRequest
		}
		if a.CallTimeout == 0 {
			a.CallTimeout = DefaultCallTimeout
		}
		if a.Calls == CallsPooled && a.CallPool == 0 {
			a.CallPool = DefaultCallPool
		}
		if a.Health == "" {
			a.Health, a.HealthPort = a.Dependency, a.DependencyPort
		}
		for _, b := range s.Backends {
			if b.Name == a.Dependency && a.DependencyPort == 0 {
				a.DependencyPort = b.Port
			}
			if b.Name == a.Health && a.HealthPort == 0 {
				a.HealthPort = b.Port
			}
		}
		c := &a.Check
		c.Interval = cmp0(c.Interval, DefaultCheckInterval)
		c.Timeout = cmp0(c.Timeout, DefaultCheckTimeout)
		if c.Failures == 0 {
			c.Failures = DefaultCheckFailures
		}
		b := &a.Boot
		b.Timeout = cmp0(b.Timeout, DefaultBootTimeout)
		b.Backoff = cmp0(b.Backoff, DefaultBootBackoff)
		b.MaxBackoff = cmp0(b.MaxBackoff, DefaultBootMaxBackoff)
		if b.Factor == 0 {
			b.Factor = DefaultBootFactor
		}
	}
}

func cmp0(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// validateApps checks the app tiers; checkName claims host names.
func (s *Spec) validateApps(checkName func(path, name string), blocks map[string]bool) []error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, field.Errorf(path, format, args...))
	}
	listens := func(backend string, port uint16) (bool, bool) {
		for _, b := range s.Backends {
			if b.Name != backend {
				continue
			}
			for _, l := range append([]BackendListener{{Protocol: b.Protocol, Port: b.Port}}, b.Extra...) {
				if l.Port == port {
					return true, l.Protocol == service.HTTP1
				}
			}
			return true, false
		}
		return false, false
	}
	for i, a := range s.Apps {
		p := fmt.Sprintf("apps[%d]", i)
		if !hostName.MatchString(a.Name) || len(a.Name) > 20 {
			bad(p+".name", "%q is not a valid app name: use 1-20 lowercase letters, digits or '-', starting with a letter (its hosts are NAME-1, NAME-2, ...)", a.Name)
		} else {
			for j, h := range a.HostNames() {
				checkName(fmt.Sprintf("%s.hosts[%d]", p, j), h)
			}
		}
		if a.Hosts < 1 || a.Hosts > MaxAppHosts {
			bad(p+".hosts", "%d hosts: an app has 1 to %d", a.Hosts, MaxAppHosts)
		}
		if !blocks[a.Block] {
			bad(p+".block", "unknown origin block %q", a.Block)
		}
		for _, dep := range []struct {
			key, name string
			port      uint16
		}{{"dependency", a.Dependency, a.DependencyPort}, {"health", a.Health, a.HealthPort}} {
			if dep.key == "health" && dep.name == a.Dependency && dep.port == a.DependencyPort {
				continue // the dependency itself, checked above
			}
			known, http := listens(dep.name, dep.port)
			switch {
			case dep.name == "":
				bad(p+"."+dep.key, "an app needs a %s: the name of a backend on the public side", dep.key)
			case !known:
				bad(p+"."+dep.key, "unknown backend %q: backends are %s", dep.name, backendList(s))
			case !http:
				bad(p+"."+dep.key, "backend %s has no http1 listener on port %d: the app calls it over HTTP/1.1", dep.name, dep.port)
			}
		}
		if a.Calls != CallsPerRequest && a.Calls != CallsPooled && a.Calls != CallsAtBoot {
			bad(p+".calls", "unknown calls %q: valid are %q (every request calls the dependency on a new connection), %q (on the host's keep-alive connections) and %q (only the boot does)",
				a.Calls, CallsPerRequest, CallsPooled, CallsAtBoot)
		}
		switch {
		case a.Calls == CallsPooled && (a.CallPool < 1 || a.CallPool > MaxCallPool):
			bad(p+".call_pool", "%d: want 1 to %d keep-alive connections per host", a.CallPool, MaxCallPool)
		case a.Calls != CallsPooled && a.CallPool != 0:
			bad(p+".call_pool", "call_pool is the keep-alive pool of calls: pooled; calls is %q", a.Calls)
		}
		for _, d := range []struct {
			key string
			v   time.Duration
		}{{"call_timeout", a.CallTimeout}, {"check.interval", a.Check.Interval}, {"check.timeout", a.Check.Timeout},
			{"boot.timeout", a.Boot.Timeout}, {"boot.backoff", a.Boot.Backoff}, {"boot.max_backoff", a.Boot.MaxBackoff}} {
			if d.v < 10*time.Millisecond || d.v > 10*time.Minute {
				bad(p+"."+d.key, "%s: want 10ms to 10m", d.v)
			}
		}
		if a.Check.Timeout >= a.Check.Interval {
			bad(p+".check.timeout", "%s is not shorter than the check interval %s", a.Check.Timeout, a.Check.Interval)
		}
		if a.Check.Failures < 1 || a.Check.Failures > 100 {
			bad(p+".check.failures", "%d: want 1 to 100 failed checks in a row", a.Check.Failures)
		}
		if a.Boot.Factor < 1 || a.Boot.Factor > 10 {
			bad(p+".boot.factor", "%g: want a backoff factor from 1 to 10", a.Boot.Factor)
		}
	}
	return errs
}

func backendList(s *Spec) string {
	var names []string
	for _, b := range s.Backends {
		names = append(names, b.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	return fmt.Sprint(names)
}

// Route is a route of a host: Dst via the on-link gateway Via.
type Route struct {
	Dst netip.Prefix
	Via netip.Addr
}

// AppRoutes are the routes an app host needs besides its default route
// through the NAT: the source prefix of every other host of its block,
// on the link, as a VPC routes its own subnets. Replies to a caller's
// source address so never depend on the NAT forwarding. Other hosts
// need none.
func AppRoutes(l *Layout, h ClientLayout) []Route {
	if h.Role != RoleApp {
		return nil
	}
	var out []Route
	for _, o := range l.Hosts {
		if o.Block == h.Block && o.Name != h.Name && len(o.Sources) > 0 {
			out = append(out, Route{Dst: o.Prefix, Via: o.Link})
		}
	}
	return out
}
