package chaos

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/internal/field"
	"github.com/natlab/natlab/testbed"
)

var dropParams = []Param{
	{Name: "percent", Type: "int", Doc: "share of the packets the NAT forwards (both directions) dropped at random, 1-100"},
	{Name: "blackhole", Type: "backend, address or prefix", Doc: "drop every forwarded packet to or from it"},
}

var dropKind = Kind{
	Name: "drop",
	Summary: "drop packets the NAT box forwards: a random percent, or all to and from a blackholed backend or prefix " +
		"(rules in an nftables table of their own, " + wire.DropTable + "); revert removes them",
	Params: dropParams,
	Roles:  []testbed.Role{testbed.RoleNAT},
	New:    newDrop,
}

func newDrop(t Target, params map[string]any) (Fault, error) {
	r := newReader(params, dropParams)
	f := &dropFault{host: t.Host}
	if r.has("percent") == r.has("blackhole") {
		r.bad("", "give either percent: 1-100 or blackhole: <backend, address or prefix>, not both or neither")
	}
	f.percent, _ = r.integer("percent", 1, 100)
	f.blackhole, _ = r.str("blackhole")
	if l, ok := t.layout(); ok && f.blackhole != "" {
		r.add(checkBlackhole(l, f.blackhole))
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	return f, nil
}

// checkBlackhole resolves a blackhole to an IPv4 prefix.
func checkBlackhole(l *testbed.Layout, s string) error {
	p, err := resolvePrefix(l, s, "blackhole")
	if err != nil {
		return err
	}
	if !p.Addr().Is4() {
		return field.Errorf("blackhole", "%s: want an IPv4 address or prefix", s)
	}
	return nil
}

// Touches: the drop table; Verify compares all of it with what it was
// before the inject, so another drop fault's chain would show there.
func (f *dropFault) Touches() []string { return []string{"drop rules"} }

var chainSeq atomic.Uint64

// dropFault installs one chain of drop rules on a NAT box, through its
// agent (see agent/droprules), in a table apart from the NAT's own.
type dropFault struct {
	host      string
	percent   int
	blackhole string

	chain    string
	before   string // the drop table before the inject
	dropped  uint64
	injected bool
	reverted bool
}

func (f *dropFault) Describe() string {
	if f.blackhole != "" {
		return fmt.Sprintf("blackhole %s on %s", f.blackhole, f.host)
	}
	return fmt.Sprintf("drop %d%% of packets forwarded by %s", f.percent, f.host)
}

// Report gives the packets dropped, once reverted.
func (f *dropFault) Report() map[string]any {
	if !f.reverted {
		return nil
	}
	return map[string]any{"dropped_packets": f.dropped}
}

func (f *dropFault) Inject(ctx context.Context, env Env) error {
	if _, err := needRole(env, "drop", f.host, testbed.RoleNAT); err != nil {
		return err
	}
	spec := wire.DropRule{Chain: fmt.Sprintf("drop%d", chainSeq.Add(1)), Percent: f.percent}
	if f.blackhole != "" {
		if err := checkBlackhole(env.Layout(), f.blackhole); err != nil {
			return err
		}
		spec.Blackhole, _ = resolvePrefix(env.Layout(), f.blackhole, "blackhole")
	}
	if err := call(ctx, env, f.host, wire.OpDropSnapshot, nil, &f.before); err != nil {
		return fmt.Errorf("record %s on %s: %w", wire.DropTable, f.host, err)
	}
	f.chain, f.injected = spec.Chain, true
	if err := call(ctx, env, f.host, wire.OpDropInstall, spec, nil); err != nil {
		return fmt.Errorf("install drop rules on %s: %w", f.host, err)
	}
	return nil
}

func (f *dropFault) Revert(ctx context.Context, env Env) error {
	if !f.injected {
		return nil
	}
	if err := call(ctx, env, f.host, wire.OpDropRemove, f.chain, &f.dropped); err != nil {
		return fmt.Errorf("remove drop rules on %s: %w", f.host, err)
	}
	f.injected, f.reverted = false, true
	return nil
}

func (f *dropFault) Verify(ctx context.Context, env Env) error {
	if f.chain == "" {
		return nil
	}
	var now string
	if err := call(ctx, env, f.host, wire.OpDropSnapshot, nil, &now); err != nil {
		return fmt.Errorf("verify %s on %s: %w", wire.DropTable, f.host, err)
	}
	if now != f.before {
		return fmt.Errorf("verify: nftables table %s on %s differs from before the inject: %s", wire.DropTable, f.host, firstDiff(f.before, now))
	}
	return nil
}
