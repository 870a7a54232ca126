package chaos

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/internal/field"
	"github.com/natlab/natlab/testbed"
)

var linkParams = []Param{
	{Name: "interface", Type: "string", Doc: "the interface to take down: " + testbed.WANInterface + " on a NAT box (the default there), " + testbed.HostInterface + " on a backend (the default there)"},
}

var linkKind = Kind{
	Name: "link",
	Summary: "take an interface down (NAT " + testbed.WANInterface + " or a backend's " + testbed.HostInterface + "); revert brings it back up. " +
		"Interfaces that carry static routes (client " + testbed.HostInterface + ", NAT lan*) are refused: the kernel drops those routes on down and no agent operation restores them",
	Params: linkParams,
	Roles:  []testbed.Role{testbed.RoleNAT, testbed.RoleBackend},
	New:    newLink,
}

func newLink(t Target, params map[string]any) (Fault, error) {
	r := newReader(params, linkParams)
	f := &linkFault{host: t.Host}
	f.iface, _ = r.str("interface")
	if err := r.done(); err != nil {
		return nil, err
	}
	if t.Role == "" {
		return f, nil
	}
	want := linkable(t.Role)
	if f.iface == "" {
		f.iface = want
	}
	if f.iface == want {
		return f, nil
	}
	has := []string{want}
	if l, ok := t.layout(); ok {
		has = l.Interfaces(t.Host)
	}
	if slices.Contains(has, f.iface) {
		return nil, &field.Error{Path: "interface", Valid: []string{want},
			Msg: fmt.Sprintf("%q on %s carries static routes the kernel removes on down, and no agent operation restores them: only %s can go down and come back intact",
				f.iface, t.Host, want)}
	}
	return nil, &field.Error{Path: "interface", Valid: []string{want},
		Msg: fmt.Sprintf("%s has no interface %q: its interfaces are %s, and link takes down %s", t.Host, f.iface, strings.Join(has, ", "), want)}
}

// linkable is the one interface of a role that can go down and come back
// with its routes: the NAT's outside, a backend's only one.
func linkable(r testbed.Role) string {
	if r == testbed.RoleNAT {
		return testbed.WANInterface
	}
	return testbed.HostInterface
}

// linkFault sets an interface down.
type linkFault struct {
	host  string
	iface string // "" until resolved: the host's main interface

	before   *wire.LinkState
	injected bool
}

func (f *linkFault) name() string {
	if f.iface == "" {
		return "main interface"
	}
	return f.iface
}

// Touches: the link state of the interface.
func (f *linkFault) Touches() []string { return []string{"link " + f.name()} }

func (f *linkFault) Describe() string {
	return fmt.Sprintf("take %s down on %s", f.name(), f.host)
}

func (f *linkFault) Inject(ctx context.Context, env Env) error {
	role, err := needRole(env, "link", f.host, testbed.RoleNAT, testbed.RoleBackend)
	if err != nil {
		return err
	}
	want := linkable(role)
	if f.iface == "" {
		f.iface = want
	}
	if f.iface != want {
		return fmt.Errorf("link: interface %q on %s %s: only %s can go down and come back intact (other interfaces carry static routes the kernel removes on down)", f.iface, role, f.host, want)
	}
	var st wire.LinkState
	if err := call(ctx, env, f.host, wire.OpLinkGet, f.iface, &st); err != nil {
		return fmt.Errorf("record link %s on %s: %w", f.iface, f.host, err)
	}
	f.before = &st
	f.injected = true
	if err := call(ctx, env, f.host, wire.OpLinkSet, wire.LinkState{Interface: f.iface, Up: false}, nil); err != nil {
		return fmt.Errorf("take %s down on %s: %w", f.iface, f.host, err)
	}
	return nil
}

func (f *linkFault) Revert(ctx context.Context, env Env) error {
	if !f.injected {
		return nil
	}
	if err := call(ctx, env, f.host, wire.OpLinkSet, *f.before, nil); err != nil {
		return fmt.Errorf("restore %s on %s: %w", f.iface, f.host, err)
	}
	// The agent answers once the link carries traffic again.
	f.injected = false
	return nil
}

func (f *linkFault) Verify(ctx context.Context, env Env) error {
	if f.before == nil {
		return nil
	}
	var st wire.LinkState
	if err := call(ctx, env, f.host, wire.OpLinkGet, f.iface, &st); err != nil {
		return fmt.Errorf("verify link %s on %s: %w", f.iface, f.host, err)
	}
	if st.Up != f.before.Up {
		return fmt.Errorf("verify: %s on %s is up=%v, was up=%v before the inject", f.iface, f.host, st.Up, f.before.Up)
	}
	return nil
}
