package natconfig

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/natlab/natlab/scenario"
)

// functions are the Terraform functions natlab evaluates in a .tf file:
// the pure ones a NAT setting is plausibly computed with.
var functions = map[string]function.Function{
	"min":      stdlib.MinFunc,
	"max":      stdlib.MaxFunc,
	"length":   stdlib.LengthFunc,
	"tonumber": stdlib.MakeToFunc(cty.Number),
	"tobool":   stdlib.MakeToFunc(cty.Bool),
}

// module is what natlab resolves of one .tf file: its variables'
// defaults and its locals.
type module struct {
	file     string
	src      []byte
	declared map[string]bool
	vars     map[string]cty.Value
	locals   map[string]cty.Value
	// localErr says why a local could not be resolved.
	localErr map[string]error
}

func (m *module) ctx() *hcl.EvalContext {
	return &hcl.EvalContext{Variables: map[string]cty.Value{"var": cty.ObjectVal(m.vars), "local": cty.ObjectVal(m.locals)}, Functions: functions}
}

// eval resolves an expression from the file's variable defaults and
// locals, or says which reference natlab cannot resolve.
func (m *module) eval(expr hclsyntax.Expression) (cty.Value, error) {
	for _, t := range expr.Variables() {
		root := t.RootName()
		name := ""
		if len(t) > 1 {
			if a, ok := t[1].(hcl.TraverseAttr); ok {
				name = a.Name
			}
		}
		switch root {
		case "var":
			if !m.declared[name] {
				return cty.NilVal, fmt.Errorf("var.%s is not declared in %s (natlab reads only this file)", name, m.file)
			}
			if _, ok := m.vars[name]; !ok {
				return cty.NilVal, fmt.Errorf("variable %q has no default, and natlab reads no .tfvars or -var: give it a default in %s, or write the value", name, m.file)
			}
		case "local":
			if err, bad := m.localErr[name]; bad {
				return cty.NilVal, fmt.Errorf("local.%s: %w", name, err)
			}
			if _, ok := m.locals[name]; !ok {
				return cty.NilVal, fmt.Errorf("local.%s is not defined in %s", name, m.file)
			}
		default:
			ref := traversalText(t)
			if text := strings.TrimSpace(string(expr.Range().SliceBytes(m.src))); text != ref {
				ref = text + " refers to " + ref + ", which"
			}
			return cty.NilVal, fmt.Errorf("%s is known only to terraform (an attribute of another resource, a data source or a module): write the value, or a variable with a default", ref)
		}
	}
	v, diags := expr.Value(m.ctx())
	if diags.HasErrors() {
		return cty.NilVal, errors.New(diagText(diags))
	}
	return v, nil
}

func traversalText(t hcl.Traversal) string {
	var b strings.Builder
	for _, s := range t {
		switch s := s.(type) {
		case hcl.TraverseRoot:
			b.WriteString(s.Name)
		case hcl.TraverseAttr:
			b.WriteString("." + s.Name)
		case hcl.TraverseSplat:
			b.WriteString("[*]")
		case hcl.TraverseIndex:
			switch k := s.Key; {
			case k.Type() == cty.Number && k.IsKnown() && !k.IsNull():
				b.WriteString("[" + k.AsBigFloat().Text('f', -1) + "]")
			case k.Type() == cty.String && k.IsKnown() && !k.IsNull():
				b.WriteString(fmt.Sprintf("[%q]", k.AsString()))
			default:
				b.WriteString("[...]")
			}
		default:
			b.WriteString("[...]")
		}
	}
	return b.String()
}

func diagText(diags hcl.Diagnostics) string {
	var parts []string
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		parts = append(parts, msg)
	}
	return strings.Join(parts, "; ")
}

// loadTerraform reads a .tf file with hcl, without terraform.
func loadTerraform(file string, data []byte, address string) (*scenario.NATConfig, error) {
	rs, err := terraformResources(file, data)
	if err != nil {
		return nil, err
	}
	r, err := pick(file, rs, address, scenario.Pos{Line: 1, Col: 1})
	if err != nil {
		return nil, err
	}
	return config(file, FormTerraform, r)
}

// terraformResources reads the NAT resources of a .tf file, their
// attributes resolved against the file's variables and locals.
func terraformResources(file string, data []byte) ([]*resource, error) {
	f, diags := hclsyntax.ParseConfig(data, file, hcl.InitialPos)
	if diags.HasErrors() {
		errs := &problems{file: file}
		for _, d := range diags {
			if d.Severity != hcl.DiagError {
				continue
			}
			at := scenario.Pos{Line: 1, Col: 1}
			if d.Subject != nil {
				at = hclPos(d.Subject.Start)
			}
			msg := d.Summary
			if d.Detail != "" {
				msg += ": " + d.Detail
			}
			errs.add(at, "terraform syntax: %s", msg)
		}
		return nil, errs.err()
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return nil, fail(file, scenario.Pos{Line: 1, Col: 1}, "not HCL native syntax: natlab reads .tf files")
	}
	m := &module{file: file, src: data, declared: map[string]bool{}, vars: map[string]cty.Value{}, locals: map[string]cty.Value{}, localErr: map[string]error{}}
	errs := &problems{file: file}
	locals := map[string]*hclsyntax.Attribute{}
	var rs []*resource
	for _, b := range body.Blocks {
		switch {
		case b.Type == "variable" && len(b.Labels) == 1:
			name := b.Labels[0]
			m.declared[name] = true
			if a, ok := b.Body.Attributes["default"]; ok {
				v, d := a.Expr.Value(nil)
				if d.HasErrors() {
					errs.add(hclPos(a.Expr.Range().Start), "variable %q: its default must be a constant: %s", name, diagText(d))
					continue
				}
				m.vars[name] = v
			}
		case b.Type == "locals":
			for name, a := range b.Body.Attributes {
				locals[name] = a
			}
		case b.Type == "resource" && len(b.Labels) == 2 && profileOf[b.Labels[0]] != "":
			rs = append(rs, tfResource(m, b))
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	m.resolveLocals(locals)
	return rs, nil
}

// resolveLocals evaluates the locals, each once the locals it refers to
// are known; what stays unresolved keeps its reason.
func (m *module) resolveLocals(locals map[string]*hclsyntax.Attribute) {
	for range len(locals) + 1 {
		progress := false
		for name, a := range locals {
			if _, done := m.locals[name]; done {
				continue
			}
			waiting := false
			for _, t := range a.Expr.Variables() {
				if t.RootName() != "local" || len(t) < 2 {
					continue
				}
				if ref, ok := t[1].(hcl.TraverseAttr); ok {
					if _, known := m.locals[ref.Name]; !known && locals[ref.Name] != nil && ref.Name != name {
						waiting = true
					}
				}
			}
			if waiting {
				continue
			}
			v, err := m.eval(a.Expr)
			if err != nil {
				m.localErr[name] = err
				continue
			}
			delete(m.localErr, name)
			m.locals[name] = v
			progress = true
		}
		if !progress {
			break
		}
	}
	for name := range locals {
		if _, ok := m.locals[name]; !ok && m.localErr[name] == nil {
			m.localErr[name] = errors.New("it refers to itself through other locals")
		}
	}
}

// tfResource reads one resource block.
func tfResource(m *module, b *hclsyntax.Block) *resource {
	r := &resource{typ: b.Labels[0], addr: b.Labels[0] + "." + b.Labels[1], pos: hclPos(b.TypeRange.Start),
		attrs: map[string]attr{}, blocks: map[string]scenario.Pos{}}
	type item struct {
		name  string
		start int
		a     *hclsyntax.Attribute
		at    scenario.Pos
	}
	var items []item
	for name, a := range b.Body.Attributes {
		items = append(items, item{name: name, start: a.SrcRange.Start.Byte, a: a})
	}
	for _, nb := range b.Body.Blocks {
		name := nb.Type
		if name == "dynamic" && len(nb.Labels) == 1 {
			name = nb.Labels[0]
		}
		items = append(items, item{name: name, start: nb.TypeRange.Start.Byte, at: hclPos(nb.TypeRange.Start)})
	}
	slices.SortFunc(items, func(x, y item) int { return x.start - y.start })
	for _, it := range items {
		if it.a == nil {
			r.addBlock(it.name, it.at)
			continue
		}
		expr := it.a.Expr
		a := attr{pos: hclPos(expr.Range().Start), elems: -1, value: func() (cty.Value, error) { return m.eval(expr) }}
		if t, ok := expr.(*hclsyntax.TupleConsExpr); ok {
			a.elems = len(t.Exprs)
		}
		r.add(it.name, a)
	}
	return r
}

func hclPos(p hcl.Pos) scenario.Pos { return scenario.Pos{Line: p.Line, Col: p.Column} }
