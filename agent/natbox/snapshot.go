package natbox

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// Snapshot returns a canonical, deterministic text of natlab's nftables
// state: chains, their rules, and set definitions (anonymous sets inline in
// the rule using them). Set elements of named sets, counter values and
// kernel handles are left out, so two snapshots are equal exactly when the
// same config is in force. An absent table gives "".
func (b *Box) Snapshot() (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ok, err := b.tableExists()
	if err != nil || !ok {
		if err != nil {
			return "", fmt.Errorf("snapshot: %w", err)
		}
		return "", nil
	}
	t := natTable()
	var sb strings.Builder
	fmt.Fprintf(&sb, "table ip %s\n", tableName)
	sets, err := b.nft.GetSets(t)
	if err != nil {
		return "", fmt.Errorf("snapshot: list sets: %w", err)
	}
	sort.Slice(sets, func(i, j int) bool { return sets[i].Name < sets[j].Name })
	for _, s := range sets {
		if s.Anonymous || strings.HasPrefix(s.Name, "__") {
			continue
		}
		fmt.Fprintf(&sb, "set %s key=%s data=%s timeout=%s flags=%s\n", s.Name, s.KeyType.Name, s.DataType.Name, s.Timeout, setFlags(s))
	}
	objs, err := b.tableObjects()
	if err != nil {
		return "", fmt.Errorf("snapshot: %w", err)
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Name < objs[j].Name })
	for _, o := range objs {
		fmt.Fprintf(&sb, "object %s type=%d %s\n", o.Name, o.Type, renderObj(o.Obj))
	}
	chs, err := b.tableChains()
	if err != nil {
		return "", fmt.Errorf("snapshot: %w", err)
	}
	sort.Slice(chs, func(i, j int) bool { return chs[i].Name < chs[j].Name })
	for _, ch := range chs {
		fmt.Fprintf(&sb, "chain %s type=%s hook=%s priority=%s policy=%s\n", ch.Name, ch.Type, deref(ch.Hooknum), deref(ch.Priority), deref(ch.Policy))
		rules, err := b.nft.GetRules(t, ch)
		if err != nil {
			return "", fmt.Errorf("snapshot: rules of %s: %w", ch.Name, err)
		}
		for _, r := range rules {
			parts := make([]string, 0, len(r.Exprs))
			for _, e := range r.Exprs {
				s, err := b.renderExpr(t, e)
				if err != nil {
					return "", fmt.Errorf("snapshot: rule in %s: %w", ch.Name, err)
				}
				parts = append(parts, s)
			}
			fmt.Fprintf(&sb, "  rule %s\n", strings.Join(parts, " ; "))
		}
	}
	return sb.String(), nil
}

func (b *Box) renderExpr(t *nftables.Table, e expr.Any) (string, error) {
	switch x := e.(type) {
	case *expr.Counter:
		return "counter", nil
	case *expr.Lookup:
		s := fmt.Sprintf("lookup src=%d dst=%d setdst=%t invert=%t", x.SourceRegister, x.DestRegister, x.IsDestRegSet, x.Invert)
		if !strings.HasPrefix(x.SetName, "__") {
			return s + " set=" + x.SetName, nil
		}
		elems, err := b.nft.GetSetElements(&nftables.Set{Table: t, Name: x.SetName})
		if err != nil {
			return "", fmt.Errorf("elements of %s: %w", x.SetName, err)
		}
		items := make([]string, len(elems))
		for i, el := range elems {
			items[i] = hex.EncodeToString(el.Key) + ":" + hex.EncodeToString(el.Val)
		}
		sort.Strings(items)
		return s + " anon={" + strings.Join(items, ",") + "}", nil
	case *expr.Dynset:
		c := *x
		c.SetID = 0
		inner := make([]string, len(c.Exprs))
		for i, ie := range c.Exprs {
			inner[i] = fmt.Sprintf("%T%+v", ie, ie)
		}
		c.Exprs = nil
		return fmt.Sprintf("%T%+v exprs=[%s]", e, c, strings.Join(inner, " ")), nil
	default:
		return fmt.Sprintf("%T%+v", e, e), nil
	}
}

// renderObj prints an object's settings; counter and quota usage are
// left out so a snapshot does not change with traffic.
func renderObj(e expr.Any) string {
	switch x := e.(type) {
	case *expr.CtTimeout:
		keys := make([]int, 0, len(x.Policy))
		for k := range x.Policy {
			keys = append(keys, int(k))
		}
		sort.Ints(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%d=%d", k, x.Policy[uint16(k)])
		}
		return fmt.Sprintf("l3=%d l4=%d policy=%s", x.L3Proto, x.L4Proto, strings.Join(parts, ","))
	case *expr.Counter:
		return "counter"
	default:
		return fmt.Sprintf("%T", e)
	}
}

func setFlags(s *nftables.Set) string {
	var f []string
	for _, x := range []struct {
		on   bool
		name string
	}{{s.Constant, "constant"}, {s.Interval, "interval"}, {s.IsMap, "map"}, {s.HasTimeout, "timeout"}, {s.Dynamic, "dynamic"}, {s.Concatenation, "concat"}, {s.Counter, "counter"}} {
		if x.on {
			f = append(f, x.name)
		}
	}
	return strings.Join(f, ",")
}

func deref[T any](p *T) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprint(*p)
}
