package chaos

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/service"
)

var killKind = Kind{
	Name:    "kill",
	Summary: "kill every agent of a backend or NAT box abruptly (SIGKILL, as a crash); revert starts a new agent and sets the host up again",
	Roles:   []testbed.Role{testbed.RoleNAT, testbed.RoleBackend},
	New: func(t Target, params map[string]any) (Fault, error) {
		if err := newReader(params, nil).done(); err != nil {
			return nil, err
		}
		return &killFault{host: t.Host}, nil
	},
}

var restartKind = Kind{
	Name:    "restart",
	Summary: "kill every agent of a backend or NAT box and start a new one at once (a crash and its recovery)",
	Roles:   []testbed.Role{testbed.RoleNAT, testbed.RoleBackend},
	New: func(t Target, params map[string]any) (Fault, error) {
		if err := newReader(params, nil).done(); err != nil {
			return nil, err
		}
		return &killFault{host: t.Host, restart: true}, nil
	},
}

// killFault kills a host's agents; with restart it also brings them back
// during the inject.
type killFault struct {
	host    string
	restart bool

	role     testbed.Role
	instance string   // agent instance id at inject
	rules    string   // nat: nat.snapshot at inject
	servers  []string // backend: server names at inject

	recorded bool
	down     bool // killed and not yet restarted
}

// Touches: everything on the host. While its agent is away no other
// fault can reach it, and the restart sets the host up from the spec
// again, undoing what other faults changed.
func (f *killFault) Touches() []string { return []string{EveryState} }

func (f *killFault) Describe() string {
	if f.restart {
		return fmt.Sprintf("restart the agent of %s (kill and start again)", f.host)
	}
	return fmt.Sprintf("kill the agent of %s", f.host)
}

func (f *killFault) Inject(ctx context.Context, env Env) error {
	role, err := needRole(env, f.kind(), f.host, testbed.RoleNAT, testbed.RoleBackend)
	if err != nil {
		return err
	}
	f.role = role
	h := env.Host(f.host)
	if h == nil {
		return fmt.Errorf("%s: host %q is not running", f.kind(), f.host)
	}
	if err := f.record(ctx, env, &f.instance, &f.rules, &f.servers); err != nil {
		return fmt.Errorf("record %s before the kill: %w", f.host, err)
	}
	f.recorded = true
	if err := h.Kill(); err != nil {
		return fmt.Errorf("kill agent of %s: %w", f.host, err)
	}
	f.down = true
	if f.restart {
		return f.Revert(ctx, env)
	}
	return nil
}

func (f *killFault) kind() string {
	if f.restart {
		return "restart"
	}
	return "kill"
}

// record reads what a healthy agent of the host shows: its instance id,
// the NAT rules or the backend's servers. The instance id, not the pid,
// tells a new agent from the old one: pids are reused, and in a container
// the first agent is pid 1 every time.
func (f *killFault) record(ctx context.Context, env Env, instance *string, rules *string, names *[]string) error {
	var hello wire.Hello
	if err := call(ctx, env, f.host, wire.OpPing, nil, &hello); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	if hello.Instance == "" {
		return fmt.Errorf("agent of %s (pid %d) gave no instance id", f.host, hello.PID)
	}
	*instance = hello.Instance
	switch f.role {
	case testbed.RoleNAT:
		if err := call(ctx, env, f.host, wire.OpNATSnapshot, nil, rules); err != nil {
			return err
		}
	case testbed.RoleBackend:
		var st []service.Stats
		if err := call(ctx, env, f.host, wire.OpBackendStats, nil, &st); err != nil {
			return err
		}
		*names = (*names)[:0]
		for _, s := range st {
			*names = append(*names, s.Name+" "+string(s.Protocol)+" "+s.Addr)
		}
		slices.Sort(*names)
	}
	return nil
}

func (f *killFault) Revert(ctx context.Context, env Env) error {
	if !f.down {
		return nil
	}
	if err := env.Restart(ctx, f.host); err != nil {
		return fmt.Errorf("restart agent of %s: %w", f.host, err)
	}
	f.down = false
	return nil
}

func (f *killFault) Verify(ctx context.Context, env Env) error {
	if !f.recorded {
		return nil
	}
	var instance, rules string
	var names []string
	if err := f.record(ctx, env, &instance, &rules, &names); err != nil {
		return fmt.Errorf("verify %s: agent is not healthy: %w", f.host, err)
	}
	var errs []error
	if instance == f.instance {
		errs = append(errs, fmt.Errorf("verify: agent of %s is still instance %s: it was never killed", f.host, instance))
	}
	if rules != f.rules {
		errs = append(errs, fmt.Errorf("verify: nat rules on %s differ from before the kill: %s", f.host, firstDiff(f.rules, rules)))
	}
	if !slices.Equal(names, f.servers) {
		errs = append(errs, fmt.Errorf("verify: servers on %s are %v, were %v before the kill", f.host, names, f.servers))
	}
	return errors.Join(errs...)
}
