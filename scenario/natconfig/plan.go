package natconfig

import (
	"math/big"
	"slices"

	"github.com/zclconf/go-cty/cty"
	"go.yaml.in/yaml/v4"

	"github.com/natlab/natlab/scenario"
)

// isPlan tells the JSON of `terraform show -json` from a NAT block.
func isPlan(doc *yaml.Node) bool {
	return get(doc, "format_version") != nil
}

// get returns the value of key in mapping n, or nil.
func get(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// loadPlan reads the resources a plan creates or updates: each
// resource_changes[] item of a NAT type whose change.after is its state
// after apply.
func loadPlan(file string, doc *yaml.Node, address string) (*scenario.NATConfig, error) {
	var rs []*resource
	changes := get(doc, "resource_changes")
	if changes == nil && get(doc, "planned_values") == nil {
		return nil, fail(file, pos(doc), "this terraform show -json output has no resource_changes: it is a state, not a plan; give the JSON of terraform show -json PLAN (or the .tf file)")
	}
	if changes != nil && changes.Kind == yaml.SequenceNode {
		for _, rc := range changes.Content {
			typ := get(rc, "type")
			if typ == nil || profileOf[typ.Value] == "" {
				continue
			}
			ch := get(rc, "change")
			after := get(ch, "after")
			if after == nil || after.Kind != yaml.MappingNode {
				continue // deleted: nothing of it is left to gate
			}
			addr := typ.Value
			if a := get(rc, "address"); a != nil {
				addr = a.Value
			}
			rs = append(rs, planResource(typ.Value, addr, pos(rc), after, get(ch, "after_unknown")))
		}
	}
	r, err := pick(file, rs, address, pos(doc))
	if err != nil {
		return nil, err
	}
	return config(file, FormPlan, r)
}

// planResource reads change.after (and after_unknown, what terraform
// knows only after apply) of one resource.
func planResource(typ, addr string, at scenario.Pos, after, unknown *yaml.Node) *resource {
	r := &resource{typ: typ, addr: addr, pos: at, attrs: map[string]attr{}, blocks: map[string]scenario.Pos{}}
	mapped := func(name string) bool {
		_, gcp := gcpSettings[name]
		return gcp || name == "nat_ips" || slices.Contains(awsIPs, name)
	}
	for i := 0; i+1 < len(after.Content); i += 2 {
		k, v := after.Content[i], after.Content[i+1]
		name := k.Value
		u := get(unknown, name)
		if empty(v) && (u == nil || !mapped(name)) {
			continue // unset: the plan lists every attribute
		}
		if typ, ok := gcpSettings[name]; ok && typ == cty.Number && v.Tag == "!!int" && v.Value == "0" {
			continue // the provider's state for a number not set
		}
		a := attr{pos: pos(v), elems: -1, value: func() (cty.Value, error) { return toCty(v), nil }}
		if u != nil && u.Kind == yaml.SequenceNode && v.Kind == yaml.SequenceNode {
			// A list some of whose items terraform knows only after apply:
			// their number is known.
			a.elems = max(len(v.Content), len(u.Content))
		}
		if v.Kind == yaml.SequenceNode && len(v.Content) > 0 && v.Content[0].Kind == yaml.MappingNode && !mapped(name) {
			r.addBlock(name, pos(v))
			continue
		}
		r.add(name, a)
	}
	// Attributes known only after apply are absent from after.
	if unknown != nil && unknown.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(unknown.Content); i += 2 {
			k, v := unknown.Content[i], unknown.Content[i+1]
			if _, seen := r.attrs[k.Value]; seen || !mapped(k.Value) {
				continue
			}
			switch {
			case v.Tag == "!!bool" && v.Value == "true":
				r.add(k.Value, attr{pos: pos(v), elems: -1, unknown: true})
			case v.Kind == yaml.SequenceNode:
				r.add(k.Value, attr{pos: pos(v), elems: len(v.Content)})
			}
		}
	}
	return r
}

// empty: a value the plan gives for an attribute that is not set.
func empty(v *yaml.Node) bool {
	return v.Tag == "!!null" || ((v.Kind == yaml.SequenceNode || v.Kind == yaml.MappingNode) && len(v.Content) == 0)
}

// toCty converts a JSON value of the plan.
func toCty(n *yaml.Node) cty.Value {
	switch n.Kind {
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return cty.EmptyTupleVal
		}
		vs := make([]cty.Value, len(n.Content))
		for i, c := range n.Content {
			vs[i] = toCty(c)
		}
		return cty.TupleVal(vs)
	case yaml.MappingNode:
		m := map[string]cty.Value{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = toCty(n.Content[i+1])
		}
		return cty.ObjectVal(m)
	}
	switch n.Tag {
	case "!!null":
		return cty.NullVal(cty.DynamicPseudoType)
	case "!!bool":
		return cty.BoolVal(n.Value == "true")
	case "!!int", "!!float":
		if f, ok := new(big.Float).SetString(n.Value); ok {
			return cty.NumberVal(f)
		}
	}
	return cty.StringVal(n.Value)
}
