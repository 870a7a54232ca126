package chaos

import (
	"context"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/testbed"
)

// Fault is one injected fault on one host.
type Fault interface {
	// Describe says what the fault does, e.g. "set net.ipv4.ip_forward=0 on nat".
	Describe() string
	// Inject records the state it is about to touch, then changes it.
	Inject(ctx context.Context, env Env) error
	// Revert restores the state recorded by Inject. Reverting a fault
	// that was never injected does nothing.
	Revert(ctx context.Context, env Env) error
	// Verify, after Revert, compares the recorded state with the state
	// now; any difference is an error that names it.
	Verify(ctx context.Context, env Env) error
}

// Reporter is implemented by faults that have something to report after
// their inject (conntrack-flush: how many entries it removed).
type Reporter interface {
	// Report returns named figures of the inject; nil before it.
	Report() map[string]any
}

// Toucher is implemented by faults that change state of their host that
// another fault could change too. Two faults on one host whose windows
// overlap must not touch the same state: the first revert would undo the
// other, or its verify would see the other's change. The scenario parser
// refuses them.
type Toucher interface {
	// Touches names that state ("snat", "sysctl net.ipv4.ip_forward",
	// "link wan0"); EveryState is all of the host's state.
	Touches() []string
}

// EveryState is touched by a fault that takes a host's agent away (kill,
// restart): no other fault on that host may overlap it.
const EveryState = "*"

// Target is the host a fault is built for, with the topology it is in.
type Target struct {
	// Host is the host's name.
	Host string
	// Role is the host's role; "" when Spec has no such host (its caller
	// reports that), and then nothing that depends on the role is checked.
	Role testbed.Role
	// Spec is the normalized topology; nil checks nothing of it.
	Spec *testbed.Spec
}

// layout plans the target's testbed (the interface and address names a
// fault may name are the same in every slot); false when there is no
// spec or it does not plan.
func (t Target) layout() (*testbed.Layout, bool) {
	if t.Spec == nil || t.Role == "" {
		return nil, false
	}
	l, err := testbed.Plan(t.Spec, 0)
	return l, err == nil
}

// Env is the running testbed as faults see it.
type Env interface {
	// Agent returns the current agent of host (a new one after a restart).
	Agent(host string) *wire.Conn
	// Host returns the named host, or nil.
	Host(host string) testbed.Host
	// Restart starts a fresh agent in host and sets the host up again.
	Restart(ctx context.Context, host string) error
	// Spec is the normalized topology of the run.
	Spec() *testbed.Spec
	// Layout is the address plan of the run.
	Layout() *testbed.Layout
}

// Param documents one parameter of a kind.
type Param struct {
	// Name is the key in the scenario file.
	Name string
	// Type is how the value is written: "int", "duration", "string",
	// "map", "port range", ...
	Type string
	// Doc says what the parameter does and which values are valid.
	Doc string
	// Required is set for parameters the kind cannot do without.
	Required bool
}

// Kind is one fault kind: its documentation and its constructor.
type Kind struct {
	// Name is the kind's name in scenario files.
	Name string
	// Summary is a one-line description.
	Summary string
	// Params lists every parameter the kind accepts.
	Params []Param
	// Roles are the host roles the kind applies to.
	Roles []testbed.Role
	// New validates params against the target (reporting every problem
	// at once, each a *field.Error whose path is the parameter) and
	// returns the fault for the target host. The role was checked.
	New func(t Target, params map[string]any) (Fault, error)
}
