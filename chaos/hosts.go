package chaos

import (
	"context"
	"fmt"
	"strings"

	"github.com/natlab/natlab/testbed"
)

// call runs op on host's current agent.
func call(ctx context.Context, env Env, host, op string, args, result any) error {
	conn := env.Agent(host)
	if conn == nil {
		return fmt.Errorf("host %q has no agent (hosts: %s)", host, strings.Join(hostNames(env.Spec()), ", "))
	}
	return conn.Call(ctx, op, args, result)
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
	return out
}
