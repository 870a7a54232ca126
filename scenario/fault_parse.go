package scenario

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/natlab/natlab/testbed"
)

// FaultCatalog checks fault kinds and their parameters; the chaos package
// implements it. Parse reports an unknown kind itself and reports every
// error Validate returns at the fault (at the parameter, for a *ParamError).
type FaultCatalog interface {
	// Kinds lists the fault kinds, e.g. "sysctl", "conntrack-flush".
	Kinds() []string
	// Validate checks the parameters of a fault of a known kind: every key
	// of the fault besides name, at, for, kind and host.
	Validate(kind string, params map[string]any) error
}

// ParamError is a problem with one parameter of a fault; a FaultCatalog
// returns it (possibly several, joined) so the problem is reported at the
// parameter's position.
type ParamError struct {
	Param string
	Msg   string
}

// Error renders the problem as "param: message".
func (e *ParamError) Error() string { return e.Param + ": " + e.Msg }

var faultKeys = []string{"name", "at", "for", "kind", "host"}

// faults reads the faults and checks them against the run's hosts, its
// duration and the catalog.
func (p *parser) faults(n *yaml.Node, spec *testbed.Spec, runEnd time.Duration, cat FaultCatalog) []Fault {
	var out []Fault
	seen := map[string]int{}
	hosts := hostNames(spec)
	for i, item := range p.list(n, "faults", false) {
		label := fmt.Sprintf("faults[%d]", i)
		m := p.mapping(item, label, nil)
		if m == nil {
			continue
		}
		f := Fault{Name: label, Pos: posOf(m.node), Params: map[string]any{}}
		if v := m.get("name"); v != nil {
			if s, ok := p.str(v, label+".name"); ok && s != "" {
				f.Name = s
			}
		}
		if prev, dup := seen[f.Name]; dup {
			p.errs.add(m.keyPos("name"), "fault name %q is already used by the fault at line %d: fault names must be unique", f.Name, prev)
		}
		seen[f.Name] = m.node.Line
		label = fmt.Sprintf("fault %q", f.Name)
		if v := m.get("at"); v != nil {
			if d, ok := p.duration(v, "at"); ok {
				f.At = d
				if runEnd > 0 && d >= runEnd {
					p.errs.add(posOf(v), "%s at %s is not before the end of the run at %s (the sum of the phase durations)", label, d, runEnd)
				}
			}
		}
		if v := m.get("for"); v != nil {
			if d, ok := p.positiveDuration(v, "for"); ok {
				f.For = d
				if runEnd > 0 && f.At < runEnd && f.At+d > runEnd {
					p.errs.add(posOf(v), "%s lasts until %s, after the run ends at %s: shorten for, or leave it out to last until the end", label, f.At+d, runEnd)
				}
			}
		}
		if len(spec.NATs) > 0 {
			f.Host = spec.NATs[0].Name
		}
		if v := m.get("host"); v != nil {
			if s, ok := p.str(v, "host"); ok {
				f.Host = s
				if !slices.Contains(hosts, s) {
					p.errs.add(posOf(v), "%s: host %q is not in the testbed:%s hosts are %s", label, s, didYouMean(s, hosts), orNone(hosts))
				}
			}
		}
		for _, k := range m.order {
			if slices.Contains(faultKeys, k) {
				continue
			}
			var v any
			if err := m.vals[k].Decode(&v); err != nil {
				p.errs.add(posOf(m.vals[k]), "%s: parameter %s: %v", label, k, err)
				continue
			}
			// A file a fault names is relative to the scenario, like
			// sysctls_file, not to where natlab happens to run.
			if file, ok := v.(string); ok && k == "file" && p.dir != "" && !filepath.IsAbs(file) {
				v = filepath.Join(p.dir, file)
			}
			f.Params[k] = v
		}
		kn := m.get("kind")
		if kn == nil {
			p.errs.add(posOf(m.node), "%s has no kind: say which fault to inject, e.g. kind: sysctl", label)
		} else if s, ok := p.str(kn, "kind"); ok {
			f.Kind = s
			p.checkFault(f, m, kn, cat)
		}
		out = append(out, f)
	}
	return out
}

// checkFault checks a fault's kind and parameters through the catalog.
func (p *parser) checkFault(f Fault, m *mapping, kn *yaml.Node, cat FaultCatalog) {
	if cat == nil {
		p.errs.add(posOf(kn), "fault kind %q cannot be checked: no fault catalog was given to the parser", f.Kind)
		return
	}
	kinds := cat.Kinds()
	if !slices.Contains(kinds, f.Kind) {
		p.errs.add(posOf(kn), "unknown fault kind %q:%s valid kinds are %s", f.Kind, didYouMean(f.Kind, kinds), strings.Join(kinds, ", "))
		return
	}
	err := cat.Validate(f.Kind, f.Params)
	if err == nil {
		return
	}
	for _, e := range splitJoined(err) {
		var pe *ParamError
		if errors.As(e, &pe) && m.get(pe.Param) != nil {
			p.errs.add(posOf(m.get(pe.Param)), "fault %q (%s): %s: %s", f.Name, f.Kind, pe.Param, pe.Msg)
			continue
		}
		// A plain error that starts with "param:" is placed at that param.
		pos := posOf(kn)
		if key, _, ok := strings.Cut(e.Error(), ":"); ok && !slices.Contains(faultKeys, key) && m.get(key) != nil {
			pos = m.keyPos(key)
		}
		p.errs.add(pos, "fault %q (%s): %v", f.Name, f.Kind, e)
	}
}

// hostNames lists every host of the testbed.
func hostNames(spec *testbed.Spec) []string {
	var out []string
	for _, n := range spec.NATs {
		out = append(out, n.Name)
	}
	out = append(out, clientNames(spec)...)
	return append(out, backendNames(spec)...)
}
