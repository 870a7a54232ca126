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

var flushParams = []Param{
	{Name: "origin", Type: "prefix or host", Doc: "original source: a prefix (198.18.0.0/24), an address, a client host or an origin block"},
	{Name: "destination", Type: "prefix or host", Doc: "original destination: a prefix, an address or a backend name"},
	{Name: "port", Type: "int", Doc: "original destination port, 1-65535"},
	{Name: "protocol", Type: "string", Doc: "tcp or udp"},
}

var flushKind = Kind{
	Name:    "conntrack-flush",
	Summary: "delete conntrack entries on a NAT box, all or filtered; reports how many it removed (a flush cannot be undone: Verify checks the NAT rules were left alone)",
	Params:  flushParams,
	Roles:   []testbed.Role{testbed.RoleNAT},
	New:     newFlush,
}

func newFlush(t Target, params map[string]any) (Fault, error) {
	r := newReader(params, flushParams)
	f := &flushFault{host: t.Host}
	f.origin, _ = r.str("origin")
	f.destination, _ = r.str("destination")
	if p, ok := r.integer("port", 1, 65535); ok {
		f.filter.DestPort = uint16(p)
	}
	f.filter.Protocol, _ = r.oneOf("protocol", "tcp", "udp")
	if l, ok := t.layout(); ok {
		if _, err := resolvePrefix(l, f.origin, "origin"); err != nil {
			r.add(err)
		}
		if _, err := resolvePrefix(l, f.destination, "destination"); err != nil {
			r.add(err)
		}
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	return f, nil
}

// flushFault deletes conntrack entries.
type flushFault struct {
	host                string
	origin, destination string
	filter              natcfg.FlushFilter

	before   string // nat.snapshot at inject
	removed  int
	injected bool
}

func (f *flushFault) Describe() string {
	var sel []string
	if f.origin != "" {
		sel = append(sel, "from "+f.origin)
	}
	if f.destination != "" {
		sel = append(sel, "to "+f.destination)
	}
	if f.filter.DestPort != 0 {
		sel = append(sel, fmt.Sprintf("port %d", f.filter.DestPort))
	}
	if f.filter.Protocol != "" {
		sel = append(sel, f.filter.Protocol)
	}
	what := "all conntrack entries"
	if len(sel) > 0 {
		what = "conntrack entries " + strings.Join(sel, " ")
	}
	s := fmt.Sprintf("flush %s on %s", what, f.host)
	if f.injected {
		s += fmt.Sprintf(" (removed %d)", f.removed)
	}
	return s
}

// Touches nothing a revert restores (a flush cannot be undone): it
// overlaps only a fault that takes the NAT's agent away.
func (f *flushFault) Touches() []string { return nil }

// Report gives the number of entries removed.
func (f *flushFault) Report() map[string]any {
	if !f.injected {
		return nil
	}
	return map[string]any{"removed": f.removed}
}

// Removed is the number of conntrack entries the inject deleted.
func (f *flushFault) Removed() int { return f.removed }

func (f *flushFault) Inject(ctx context.Context, env Env) error {
	if _, err := needRole(env, "conntrack-flush", f.host, testbed.RoleNAT); err != nil {
		return err
	}
	filter := f.filter
	var err error
	if filter.Origin, err = resolvePrefix(env.Layout(), f.origin, "origin"); err != nil {
		return err
	}
	if filter.Destination, err = resolvePrefix(env.Layout(), f.destination, "destination"); err != nil {
		return err
	}
	if err := call(ctx, env, f.host, wire.OpNATSnapshot, nil, &f.before); err != nil {
		return fmt.Errorf("record nat rules on %s: %w", f.host, err)
	}
	f.injected = true
	if err := call(ctx, env, f.host, wire.OpNATFlush, filter, &f.removed); err != nil {
		return fmt.Errorf("flush conntrack on %s: %w", f.host, err)
	}
	return nil
}

// Revert does nothing: deleted entries cannot be brought back, new
// packets create new ones.
func (f *flushFault) Revert(context.Context, Env) error { return nil }

func (f *flushFault) Verify(ctx context.Context, env Env) error {
	if !f.injected {
		return nil
	}
	return verifySnapshot(ctx, env, f.host, f.before)
}

// verifySnapshot compares the NAT's rules with a snapshot taken earlier.
func verifySnapshot(ctx context.Context, env Env, host, before string) error {
	var now string
	if err := call(ctx, env, host, wire.OpNATSnapshot, nil, &now); err != nil {
		return fmt.Errorf("verify nat rules on %s: %w", host, err)
	}
	if now != before {
		return fmt.Errorf("verify: nat rules on %s differ from before the inject: %s", host, firstDiff(before, now))
	}
	return nil
}

// firstDiff names the first line that differs between two snapshots.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d was %q, now %q", i+1, trim(x), trim(y))
		}
	}
	return "no line differs"
}

func trim(s string) string {
	if len(s) > 160 {
		return s[:160] + "..."
	}
	return s
}

// resolvePrefix turns a prefix, an address, or a host or block name into
// a prefix; "" gives the zero prefix (any). Its error is a field error of
// the parameter param.
func resolvePrefix(l *testbed.Layout, s, param string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, nil
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	if b, ok := l.Backend(s); ok {
		return netip.PrefixFrom(b.Addr, 32), nil
	}
	if b, ok := l.Block(s); ok {
		return b.Prefix, nil
	}
	var names []string
	for _, h := range l.Hosts {
		if h.Name == s {
			return h.Prefix, nil
		}
		names = append(names, h.Name)
	}
	for _, b := range l.Backends {
		names = append(names, b.Name)
	}
	for _, b := range l.Blocks {
		names = append(names, b.Name)
	}
	return netip.Prefix{}, &field.Error{Path: param, Valid: names,
		Msg: fmt.Sprintf("%q is not a prefix, an address, a backend, a client host or an origin block of this testbed (names: %s)", s, strings.Join(names, ", "))}
}
