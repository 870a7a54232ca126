package chaos

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/internal/field"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natcfg"
)

var snatParams = []Param{
	{Name: "ports", Type: "port range", Doc: "new port range on every NAT IP, e.g. 1024-1087"},
	{Name: "ips", Type: "int", Doc: "use the first N of the NAT's IPs (1 to the number the testbed gave it; more would need addresses the NAT does not have)"},
	{Name: "split", Type: "string", Doc: "per-block: one pool per origin block, the NAT IPs dealt out in turn (needs at least one IP per block)"},
	{Name: "port_selection", Type: "string", Doc: "default, random or fully-random"},
}

var snatKind = Kind{
	Name: "snat",
	Summary: "change a NAT box's SNAT pools live (shrink or grow the port range, use fewer or more of its NAT IPs, " +
		"split a shared pool per origin block, switch port selection); revert re-applies the testbed's config",
	Params: snatParams,
	Roles:  []testbed.Role{testbed.RoleNAT},
	New:    newSNAT,
}

func newSNAT(t Target, params map[string]any) (Fault, error) {
	r := newReader(params, snatParams)
	f := &snatFault{host: t.Host}
	if s, ok := r.str("ports"); ok {
		pr, err := natcfg.ParsePortRange(s)
		if err != nil {
			r.bad("ports", "%v", err)
		} else {
			f.ports = &pr
		}
	}
	if n, ok := r.integer("ips", 1, testbed.MaxNATIPs); ok {
		f.ips = n
	}
	if s, ok := r.oneOf("split", "per-block"); ok {
		f.split = s
	}
	if s, ok := r.oneOf("port_selection", "default", "random", "fully-random"); ok {
		ps := natcfg.PortSelection(s)
		if s == "default" {
			ps = natcfg.PortSelectionDefault
		}
		f.selection = &ps
	}
	if len(params) == 0 {
		r.bad("", "no change given, set at least one of: %s", strings.Join(paramNames(snatParams), ", "))
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	// What the change does to this NAT's pools is known before anything
	// runs: the address plan has the same shape in every slot.
	if l, ok := t.layout(); ok {
		if base, err := testbed.NATConfig(t.Spec, l, t.Host); err == nil {
			if _, err := f.changed(l, base); err != nil {
				return nil, err
			}
		}
	}
	return f, nil
}

// Touches: the NAT's SNAT rules, which the revert re-applies whole.
func (f *snatFault) Touches() []string { return []string{"snat"} }

// snatFault re-applies a changed NAT config. It starts from the testbed's
// config for the NAT (testbed.NATConfig), so two snat faults on one NAT
// must not overlap: the first revert would undo both (Touches says so,
// and the scenario parser refuses them).
type snatFault struct {
	host      string
	ports     *natcfg.PortRange
	ips       int
	split     string
	selection *natcfg.PortSelection

	base     natcfg.Config // the config reverted to
	before   string        // nat.snapshot at inject
	injected bool
}

func (f *snatFault) Describe() string {
	var parts []string
	if f.ports != nil {
		parts = append(parts, "ports "+f.ports.String())
	}
	if f.ips > 0 {
		parts = append(parts, fmt.Sprintf("%d NAT IPs", f.ips))
	}
	if f.split != "" {
		parts = append(parts, "pools split "+f.split)
	}
	if f.selection != nil {
		s := string(*f.selection)
		if s == "" {
			s = "default"
		}
		parts = append(parts, "port selection "+s)
	}
	return fmt.Sprintf("change SNAT on %s: %s", f.host, strings.Join(parts, ", "))
}

// changed returns base with the fault's changes; its problems are field
// errors of the parameter that asks for the impossible.
func (f *snatFault) changed(l *testbed.Layout, base natcfg.Config) (natcfg.Config, error) {
	cfg := base
	cfg.Pools = make([]natcfg.Pool, len(base.Pools))
	copy(cfg.Pools, base.Pools)
	nl, _ := l.NAT(f.host)
	ips := func(n int) string {
		if n == 1 {
			return "1 NAT IP"
		}
		return fmt.Sprintf("%d NAT IPs", n)
	}
	if f.split != "" {
		var blocks []testbed.BlockLayout
		for _, b := range l.Blocks {
			if b.NAT == f.host {
				blocks = append(blocks, b)
			}
		}
		if len(nl.IPs) < len(blocks) {
			return cfg, field.Errorf("split", "per-block: %s has %s for %d origin blocks: give the NAT at least %d ips in the testbed", f.host, ips(len(nl.IPs)), len(blocks), len(blocks))
		}
		ports := cfg.Pools[0].Ports
		cfg.Pools = nil
		for _, b := range blocks {
			cfg.Pools = append(cfg.Pools, natcfg.Pool{Name: b.Name, Sources: []netip.Prefix{b.Prefix}, Ports: ports})
		}
		for i, ip := range nl.IPs {
			p := &cfg.Pools[i%len(blocks)]
			p.IPs = append(p.IPs, ip)
		}
	}
	if f.ips > 0 {
		if len(cfg.Pools) != 1 {
			return cfg, field.Errorf("ips", "%s has %d pools; ips applies to a NAT with one shared pool", f.host, len(cfg.Pools))
		}
		if f.ips > len(nl.IPs) {
			valid := fmt.Sprintf("1 to %d", len(nl.IPs))
			if len(nl.IPs) == 1 {
				valid = "1"
			}
			return cfg, field.Errorf("ips", "%d is more than %s has (%s on %s): want %s, or give the NAT more ips in the testbed",
				f.ips, f.host, ips(len(nl.IPs)), testbed.WANInterface, valid)
		}
		cfg.Pools[0].IPs = append([]netip.Addr(nil), nl.IPs[:f.ips]...)
	}
	for i := range cfg.Pools {
		if len(cfg.Pools[i].Slices) > 0 && (f.ports != nil || f.ips > 0 || f.split != "") {
			key := "ports"
			switch {
			case f.ports != nil:
			case f.ips > 0:
				key = "ips"
			default:
				key = "split"
			}
			return cfg, field.Errorf(key, "%s uses static per-host port slices (allocation: static); changing its ports, IPs or pools live is not supported, only port_selection", f.host)
		}
		if f.ports != nil {
			cfg.Pools[i].Ports = *f.ports
		}
	}
	if f.selection != nil {
		cfg.PortSelection = *f.selection
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("the changed config is not valid: %w", err)
	}
	return cfg, nil
}

func (f *snatFault) Inject(ctx context.Context, env Env) error {
	if _, err := needRole(env, "snat", f.host, testbed.RoleNAT); err != nil {
		return err
	}
	base, err := testbed.NATConfig(env.Spec(), env.Layout(), f.host)
	if err != nil {
		return fmt.Errorf("snat: %w", err)
	}
	cfg, err := f.changed(env.Layout(), base)
	if err != nil {
		return err
	}
	if err := call(ctx, env, f.host, wire.OpNATSnapshot, nil, &f.before); err != nil {
		return fmt.Errorf("record nat rules on %s: %w", f.host, err)
	}
	f.base = base
	f.injected = true
	if err := call(ctx, env, f.host, wire.OpNATApply, cfg, nil); err != nil {
		return fmt.Errorf("apply changed snat on %s: %w", f.host, err)
	}
	return nil
}

func (f *snatFault) Revert(ctx context.Context, env Env) error {
	if !f.injected {
		return nil
	}
	if err := call(ctx, env, f.host, wire.OpNATApply, f.base, nil); err != nil {
		return fmt.Errorf("re-apply snat config on %s: %w", f.host, err)
	}
	f.injected = false
	return nil
}

func (f *snatFault) Verify(ctx context.Context, env Env) error {
	if f.before == "" {
		return nil
	}
	return verifySnapshot(ctx, env, f.host, f.before)
}
