package chaos

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/service"
)

// allAgents is an Env that knows every agent process of a host (the
// testbed's): a backend may run its servers in several.
type allAgents interface {
	Agents(host string) []*wire.Conn
}

// call runs op on host's current agent. A backend's stats and controls
// go to every server process of the host: stats come back merged into
// one figure per server, a control acts on all of them.
func call(ctx context.Context, env Env, host, op string, args, result any) error {
	if all, ok := env.(allAgents); ok && (op == wire.OpBackendStats || op == wire.OpBackendControl) {
		if conns := all.Agents(host); len(conns) > 1 {
			return callAll(ctx, conns, op, args, result)
		}
	}
	conn := env.Agent(host)
	if conn == nil {
		return fmt.Errorf("host %q has no agent (hosts: %s)", host, strings.Join(hostNames(env.Spec()), ", "))
	}
	return conn.Call(ctx, op, args, result)
}

func callAll(ctx context.Context, conns []*wire.Conn, op string, args, result any) error {
	if op == wire.OpBackendStats {
		st, err := testbed.BackendStatsOf(ctx, conns)
		if err != nil {
			return err
		}
		if p, ok := result.(*[]service.Stats); ok {
			*p = st
			return nil
		}
		return fmt.Errorf("%s: result %T is not *[]service.Stats", op, result)
	}
	var errs []error
	for i, c := range conns {
		if err := c.Call(ctx, op, args, result); err != nil {
			errs = append(errs, fmt.Errorf("process %d of %d: %w", i+1, len(conns), err))
		}
	}
	return errors.Join(errs...)
}

// roleOf returns the role of host in the spec.
func roleOf(s *testbed.Spec, host string) (testbed.Role, bool) {
	for _, n := range s.NATs {
		if n.Name == host {
			return testbed.RoleNAT, true
		}
	}
	for _, b := range s.Backends {
		if b.Name == host {
			return testbed.RoleBackend, true
		}
	}
	for _, c := range s.Clients {
		if c.Name == host {
			return testbed.RoleClient, true
		}
	}
	if _, ok := s.App(host); ok {
		return testbed.RoleApp, true
	}
	return "", false
}

// needRole checks that host exists and has one of roles.
func needRole(env Env, kind, host string, roles ...testbed.Role) (testbed.Role, error) {
	r, ok := roleOf(env.Spec(), host)
	if !ok {
		return "", fmt.Errorf("%s: unknown host %q, hosts are: %s", kind, host, strings.Join(hostNames(env.Spec()), ", "))
	}
	for _, want := range roles {
		if r == want {
			return r, nil
		}
	}
	names := make([]string, len(roles))
	for i, x := range roles {
		names[i] = string(x)
	}
	return "", fmt.Errorf("%s: host %q is a %s, this fault applies to a %s", kind, host, r, strings.Join(names, " or "))
}

func hostNames(s *testbed.Spec) []string {
	var out []string
	for _, n := range s.NATs {
		out = append(out, n.Name)
	}
	for _, b := range s.Backends {
		out = append(out, b.Name)
	}
	for _, c := range s.Clients {
		out = append(out, c.Name)
	}
	for _, a := range s.Apps {
		out = append(out, a.HostNames()...)
	}
	return out
}
