package chaos

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/natlab/natlab/internal/field"
	"github.com/natlab/natlab/testbed"
)

// kinds is the registry: every fault kind natlab knows, in the order the
// documentation lists them.
var kinds = []Kind{
	sysctlKind,
	flushKind,
	snatKind,
	timeoutsKind,
	linkKind,
	dropKind,
	killKind,
	restartKind,
	saturateKind,
	natConfigKind,
	vmStartKind,
	vmStopKind,
}

// Kinds returns every fault kind.
func Kinds() []Kind { return append([]Kind(nil), kinds...) }

// Lookup returns the kind called name.
func Lookup(name string) (Kind, bool) {
	for _, k := range kinds {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}

// New builds the fault of kind on host of spec from params, checking them
// against the host's role and the topology.
func New(kind, host string, spec *testbed.Spec, params map[string]any) (Fault, error) {
	k, ok := Lookup(kind)
	if !ok {
		return nil, unknownKind(kind)
	}
	role, ok := roleOf(spec, host)
	if !ok {
		return nil, fmt.Errorf("fault %s: unknown host %q, hosts are: %s", kind, host, strings.Join(hostNames(spec), ", "))
	}
	f, err := build(k, Target{Host: host, Role: role, Spec: spec}, params)
	if err != nil {
		return nil, fmt.Errorf("fault %s: %w", kind, err)
	}
	return f, nil
}

// build checks that the target's role fits the kind, then builds.
func build(k Kind, t Target, params map[string]any) (Fault, error) {
	if t.Role != "" && !slices.Contains(k.Roles, t.Role) {
		var fit []string
		for _, h := range hostNames(t.Spec) {
			if r, _ := roleOf(t.Spec, h); slices.Contains(k.Roles, r) {
				fit = append(fit, h)
			}
		}
		msg := fmt.Sprintf("%q is a %s; %s applies to %s", t.Host, roleName(t.Role), k.Name, roleNames(k.Roles))
		if len(fit) > 0 {
			msg += ": " + strings.Join(fit, ", ")
		} else {
			msg += ", and this testbed has none"
		}
		return nil, &field.Error{Path: "host", Msg: msg, Valid: fit}
	}
	return k.New(t, params)
}

func unknownKind(kind string) error {
	return fmt.Errorf("unknown fault kind %q, valid kinds: %s", kind, strings.Join(Catalog{}.Kinds(), ", "))
}

// Catalog lets the scenario package check and build faults without
// knowing them (scenario.FaultCatalog).
type Catalog struct{}

// Kinds lists the kind names, sorted.
func (Catalog) Kinds() []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k.Name
	}
	sort.Strings(out)
	return out
}

// Build checks the params of one fault of kind on host of spec, reporting
// every problem at once as *field.Error values, and returns the Fault. A
// host spec does not have is left for the caller to report: only what
// does not depend on the host is checked then.
func (Catalog) Build(kind, host string, spec *testbed.Spec, params map[string]any) (any, error) {
	k, ok := Lookup(kind)
	if !ok {
		return nil, unknownKind(kind)
	}
	t := Target{Host: host, Spec: spec}
	if spec != nil {
		t.Role, _ = roleOf(spec, host)
	}
	return build(k, t, params)
}

// roleName names a role for messages.
func roleName(r testbed.Role) string {
	switch r {
	case testbed.RoleNAT:
		return "NAT box"
	case testbed.RoleClient:
		return "client host"
	}
	return string(r)
}

func roleNames(rs []testbed.Role) string {
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = "a " + roleName(r)
	}
	return strings.Join(names, " or ")
}
