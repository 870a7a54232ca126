package chaos

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/internal/field"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/service"
)

var saturateParams = []Param{
	{Name: "limit", Type: "int", Doc: "concurrent lookups the dependency allows (at least 1)", Required: true},
	{Name: "latency", Type: "duration", Doc: "how long each lookup takes, e.g. 2s (0 or more)"},
	{Name: "server", Type: "string", Doc: "one server of the backend, e.g. registrar:8080 or rendezvous:3478; default every registrar and rendezvous server of the host"},
}

var saturateKind = Kind{
	Name:    "saturate",
	Summary: "cap a registrar or rendezvous backend's verification dependency (limit concurrent lookups, each taking latency); revert restores the previous cap",
	Params:  saturateParams,
	Roles:   []testbed.Role{testbed.RoleBackend},
	New:     newSaturate,
}

func newSaturate(t Target, params map[string]any) (Fault, error) {
	r := newReader(params, saturateParams)
	r.require("limit")
	f := &saturateFault{host: t.Host}
	f.limit, _ = r.integer("limit", 1, 1<<20)
	f.latency, _ = r.duration("latency", 0)
	f.server, _ = r.str("server")
	if t.Role == testbed.RoleBackend && t.Spec != nil {
		f.targets = registrarServers(t.Spec, t.Host)
		switch {
		case len(f.targets) == 0:
			r.add(&field.Error{Path: "host", Valid: registrarBackends(t.Spec),
				Msg: fmt.Sprintf("backend %s serves no registrar or rendezvous (only they have a dependency); such backends: %s",
					t.Host, orNone(registrarBackends(t.Spec)))})
		case f.server != "" && !slices.Contains(f.targets, f.server):
			r.add(&field.Error{Path: "server", Valid: f.targets,
				Msg: fmt.Sprintf("%q is not a registrar or rendezvous server of %s: its servers with a dependency are %s", f.server, t.Host, strings.Join(f.targets, ", "))})
		case f.server != "":
			f.targets = []string{f.server}
		}
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	return f, nil
}

// registrarServers names the listeners of a backend that verify through a
// dependency (registrar, rendezvous) as its agent does ("registrar:9000").
func registrarServers(s *testbed.Spec, host string) []string {
	var out []string
	for _, b := range s.Backends {
		if b.Name != host {
			continue
		}
		for _, l := range append([]testbed.BackendListener{{Protocol: b.Protocol, Port: b.Port}}, b.Extra...) {
			if l.Protocol.HasDependency() {
				out = append(out, testbed.ServerName(l))
			}
		}
	}
	return out
}

func registrarBackends(s *testbed.Spec) []string {
	var out []string
	for _, b := range s.Backends {
		if len(registrarServers(s, b.Name)) > 0 {
			out = append(out, b.Name)
		}
	}
	return out
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// Touches: the dependency cap of each registrar server it saturates.
func (f *saturateFault) Touches() []string {
	if len(f.targets) == 0 {
		return []string{"dependency"}
	}
	out := make([]string, len(f.targets))
	for i, s := range f.targets {
		out[i] = "dependency " + s
	}
	return out
}

// saturateFault caps a registrar's dependency.
type saturateFault struct {
	host    string
	limit   int
	latency time.Duration
	server  string
	targets []string // the registrar servers it saturates, known at build

	before   map[string]wire.Saturation // per registrar server
	injected bool
}

func (f *saturateFault) Describe() string {
	return fmt.Sprintf("saturate the dependency of %s: %d concurrent lookups of %s", f.host, f.limit, f.latency)
}

// registrars reads the dependency settings of the targeted servers.
func (f *saturateFault) registrars(ctx context.Context, env Env) (map[string]wire.Saturation, error) {
	var st []service.Stats
	if err := call(ctx, env, f.host, wire.OpBackendStats, nil, &st); err != nil {
		return nil, err
	}
	out := map[string]wire.Saturation{}
	var names []string
	for _, s := range st {
		names = append(names, s.Name)
		if !s.Protocol.HasDependency() || (f.server != "" && s.Name != f.server) {
			continue
		}
		if s.Dependency.Mixed {
			return nil, fmt.Errorf("saturate: the server processes of %s disagree on the dependency of %s (limit %d latency %s in the first)",
				f.host, s.Name, s.Dependency.Limit, s.Dependency.Latency)
		}
		out[s.Name] = wire.Saturation{Limit: s.Dependency.Limit, Latency: s.Dependency.Latency.String()}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("saturate: no registrar or rendezvous server %q on %s (servers: %v); only they have a dependency", f.server, f.host, names)
	}
	return out, nil
}

func (f *saturateFault) Inject(ctx context.Context, env Env) error {
	if _, err := needRole(env, "saturate", f.host, testbed.RoleBackend); err != nil {
		return err
	}
	before, err := f.registrars(ctx, env)
	if err != nil {
		return err
	}
	f.before = before
	f.injected = true
	for name := range before {
		c := wire.BackendControl{Server: name, Saturate: &wire.Saturation{Limit: f.limit, Latency: f.latency.String()}}
		if err := call(ctx, env, f.host, wire.OpBackendControl, c, nil); err != nil {
			return fmt.Errorf("saturate %s on %s: %w", name, f.host, err)
		}
	}
	return nil
}

func (f *saturateFault) Revert(ctx context.Context, env Env) error {
	if !f.injected {
		return nil
	}
	var errs []error
	for name, s := range f.before {
		c := wire.BackendControl{Server: name, Saturate: &s}
		if err := call(ctx, env, f.host, wire.OpBackendControl, c, nil); err != nil {
			errs = append(errs, fmt.Errorf("lift saturation of %s on %s: %w", name, f.host, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	f.injected = false
	return nil
}

func (f *saturateFault) Verify(ctx context.Context, env Env) error {
	if f.before == nil {
		return nil
	}
	now, err := f.registrars(ctx, env)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	var errs []error
	for name, was := range f.before {
		if got := now[name]; got != was {
			errs = append(errs, fmt.Errorf("verify: dependency of %s on %s is limit %d latency %s, was limit %d latency %s before the inject",
				name, f.host, got.Limit, got.Latency, was.Limit, was.Latency))
		}
	}
	return errors.Join(errs...)
}
