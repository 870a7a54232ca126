package scenario

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/natlab/natlab/internal/field"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natcfg"
)

// FaultCatalog checks and builds faults; the chaos package implements it.
// Parse reports an unknown kind itself, places every *field.Error Build
// returns at the parameter its path names ("host" for the host, "" for
// the fault as a whole), and keeps the built fault in Fault.Built.
type FaultCatalog interface {
	// Kinds lists the fault kinds, e.g. "sysctl", "conntrack-flush".
	Kinds() []string
	// Build checks the parameters of a fault of a known kind on host
	// (every key of the fault besides name, at, for, kind and host)
	// against the host's role in spec, reporting every problem at once,
	// and returns the fault. A host spec does not have is reported by
	// Parse; Build then checks what does not depend on the host.
	//
	// A built fault with a method Touches() []string names the state it
	// changes on its host; Parse refuses two faults on one host whose
	// windows overlap and that touch the same state ("*" is all of it).
	Build(kind, host string, spec *testbed.Spec, params map[string]any) (any, error)
}

// toucher is a built fault that names the state it changes.
type toucher interface{ Touches() []string }

// everyState is what a fault touches that changes all of its host.
const everyState = "*"

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
			} else if ok && k == "file" && p.dir == "" && p.read != nil && !filepath.IsAbs(file) {
				// A scenario inside a file system (the embedded
				// fixtures): the fault gets the file's content.
				data, err := p.read(file)
				if err != nil {
					p.errs.add(posOf(m.vals[k]), "%s: file: %v", label, err)
					continue
				}
				v = natcfg.ConfFile{Name: file, Data: data}
			}
			f.Params[k] = v
		}
		kn := m.get("kind")
		if kn == nil {
			p.errs.add(posOf(m.node), "%s has no kind: say which fault to inject, e.g. kind: sysctl", label)
		} else if s, ok := p.str(kn, "kind"); ok {
			f.Kind = s
			f.Built = p.buildFault(f, m, kn, spec, cat)
		}
		out = append(out, f)
	}
	p.overlaps(out, runEnd)
	return out
}

// buildFault checks a fault's kind and parameters through the catalog and
// returns the built fault (nil when it has problems).
func (p *parser) buildFault(f Fault, m *mapping, kn *yaml.Node, spec *testbed.Spec, cat FaultCatalog) any {
	if cat == nil {
		p.errs.add(posOf(kn), "fault kind %q cannot be checked: no fault catalog was given to the parser", f.Kind)
		return nil
	}
	kinds := cat.Kinds()
	if !slices.Contains(kinds, f.Kind) {
		p.errs.add(posOf(kn), "unknown fault kind %q:%s valid kinds are %s", f.Kind, didYouMean(f.Kind, kinds), strings.Join(kinds, ", "))
		return nil
	}
	built, err := cat.Build(f.Kind, f.Host, spec, f.Params)
	if err == nil {
		return built
	}
	label := fmt.Sprintf("fault %q (%s)", f.Name, f.Kind)
	fields, other := field.List(err)
	for _, fe := range fields {
		steps := field.Steps(fe.Path)
		pos := posOf(kn)
		if len(steps) > 0 && m.get(steps[0].Key) != nil {
			pos = pathPos(m, steps)
		}
		switch {
		case fe.Unknown && len(fe.Valid) > 0:
			p.errs.add(pos, "%s: unknown parameter %q:%s valid parameters are %s", label, fe.Path, didYouMean(fe.Path, fe.Valid), strings.Join(fe.Valid, ", "))
		case fe.Unknown:
			p.errs.add(pos, "%s: unknown parameter %q: %s takes no parameters besides %s", label, fe.Path, f.Kind, strings.Join(faultKeys, ", "))
		default:
			p.errs.add(pos, "%s: %s", label, fe.Error())
		}
	}
	for _, e := range other {
		p.errs.add(posOf(kn), "%s: %v", label, e)
	}
	return nil
}

// pathPos returns the position of the deepest key of a field path that
// was written in m (the first step is a key of m).
func pathPos(m *mapping, steps []field.Step) Pos {
	pos := m.keyPos(steps[0].Key)
	n := m.get(steps[0].Key)
	for _, st := range steps[1:] {
		n = deref(n)
		if n == nil {
			break
		}
		var next *yaml.Node
		switch {
		case st.Index >= 0 && n.Kind == yaml.SequenceNode && st.Index < len(n.Content):
			next = n.Content[st.Index]
			pos = posOf(next)
		case st.Index < 0 && n.Kind == yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if k := deref(n.Content[i]); k != nil && k.Value == st.Key {
					pos, next = posOf(k), n.Content[i+1]
					break
				}
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return pos
}

// overlaps refuses two faults on one host whose windows overlap and that
// change the same state: the first revert would undo the other, or its
// verify would see the other's change as its own revert gone wrong.
func (p *parser) overlaps(faults []Fault, runEnd time.Duration) {
	const forever = time.Duration(math.MaxInt64)
	end := func(f Fault) time.Duration {
		switch {
		case f.For > 0:
			return f.At + f.For
		case runEnd > 0:
			return runEnd
		}
		return forever
	}
	for j, b := range faults {
		tb, ok := b.Built.(toucher)
		if !ok {
			continue
		}
		for _, a := range faults[:j] {
			ta, ok := a.Built.(toucher)
			if !ok || a.Host != b.Host || a.At >= end(b) || b.At >= end(a) {
				continue
			}
			why, clash := clashes(a, ta.Touches(), b, tb.Touches())
			if !clash {
				continue
			}
			window := fmt.Sprintf("from %s to %s", max(a.At, b.At), min(end(a), end(b)))
			if u := min(end(a), end(b)); u == forever || u == runEnd {
				window = fmt.Sprintf("from %s to the end of the run", max(a.At, b.At))
			}
			fix := fmt.Sprintf("give %q a for that ends by %s", a.Name, b.At)
			if a.At >= b.At {
				fix = fmt.Sprintf("move %q after the end of %q", a.Name, b.Name)
			}
			p.errs.add(b.Pos, "fault %q (%s, line %d) overlaps fault %q (%s, line %d) on %s %s, and %s; %s",
				b.Name, b.Kind, b.Pos.Line, a.Name, a.Kind, a.Pos.Line, b.Host, window, why, fix)
		}
	}
}

// clashes says why two faults on one host cannot overlap, if they cannot:
// they touch the same state, or one of them takes the agent away.
func clashes(a Fault, ta []string, b Fault, tb []string) (string, bool) {
	for _, f := range []struct {
		f Fault
		t []string
	}{{a, ta}, {b, tb}} {
		if slices.Contains(f.t, everyState) {
			return fmt.Sprintf("%q takes the host's agent away: no other fault can reach the host meanwhile, and the restart sets it up afresh", f.f.Name), true
		}
	}
	for _, x := range ta {
		if slices.Contains(tb, x) {
			return "both change " + x + ": faults that change the same state of a host must not overlap, or the first revert undoes the other", true
		}
	}
	return "", false
}

// hostNames lists every host of the testbed.
func hostNames(spec *testbed.Spec) []string {
	var out []string
	for _, n := range spec.NATs {
		out = append(out, n.Name)
	}
	out = append(out, clientNames(spec)...)
	out = append(out, backendNames(spec)...)
	for _, a := range spec.Apps {
		out = append(out, a.HostNames()...)
	}
	return out
}
