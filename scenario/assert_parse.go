package scenario

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"
)

var (
	alarmKeys    = []string{"name", "metric", "above", "below", "for"}
	assertKeys   = []string{"name", "phase", "expect", "recovery"}
	recoveryKeys = []string{"after", "within", "expect", "window", "beyond"}
)

// alarms reads the alarms.
func (p *parser) alarms(n *yaml.Node) []Alarm {
	var out []Alarm
	seen := map[string]int{}
	for i, item := range p.list(n, "alarms", false) {
		label := fmt.Sprintf("alarms[%d]", i)
		m := p.mapping(item, label, alarmKeys)
		if m == nil {
			continue
		}
		a := Alarm{Pos: posOf(m.node)}
		if v := m.get("name"); v == nil {
			p.errs.add(posOf(m.node), "%s has no name: assertions refer to alarms by name", label)
		} else if s, ok := p.str(v, "name"); ok {
			if prev, dup := seen[s]; dup {
				p.errs.add(posOf(v), "alarm name %q is already used by the alarm at line %d: alarm names must be unique", s, prev)
			} else if !isMetricName(s) {
				p.errs.add(posOf(v), "alarm name %q: use letters, digits, '-' and '_' only", s)
			}
			seen[s] = v.Line
			a.Name = s
		}
		var spec metricSpec
		known := false
		if v := m.get("metric"); v == nil {
			p.errs.add(posOf(m.node), "%s has no metric: valid are %s", label, strings.Join(sortedKeys(alarmMetrics), ", "))
		} else if s, ok := p.str(v, "metric"); ok {
			a.Metric = s
			if spec, known = alarmMetrics[s]; !known {
				names := sortedKeys(alarmMetrics)
				p.errs.add(posOf(v), "unknown alarm metric %q:%s valid are %s", s, didYouMean(s, names), strings.Join(names, ", "))
			}
		}
		above, below := m.get("above"), m.get("below")
		switch {
		case above != nil && below != nil:
			p.errs.add(m.keyPos("below"), "%s has both above and below: give one threshold", label)
		case above == nil && below == nil:
			p.errs.add(posOf(m.node), "%s has no threshold: give above: X or below: X", label)
		default:
			t, key := above, "above"
			a.Above = true
			if t == nil {
				t, key, a.Above = below, "below", false
			}
			if s, ok := p.str(t, key); ok && known {
				if v, msg := parseValue(s, a.Metric, spec); msg != "" {
					p.errs.add(posOf(t), "%s", msg)
				} else {
					a.Threshold = v
				}
			}
		}
		if v := m.get("for"); v != nil {
			a.For, _ = p.duration(v, "for")
		}
		out = append(out, a)
	}
	return out
}

func isMetricName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isMetricChar(c) || c == '.' {
			return false
		}
	}
	return true
}

// assertEnv is what assertions may refer to.
type assertEnv struct {
	metrics metricEnv
	phases  []string
	faults  map[string]Fault
	tick    time.Duration
}

// asserts reads the assertions.
func (p *parser) asserts(n *yaml.Node, env assertEnv) []Assertion {
	var out []Assertion
	for i, item := range p.list(n, "assert", false) {
		label := fmt.Sprintf("assert[%d]", i)
		m := p.mapping(item, label, assertKeys)
		if m == nil {
			continue
		}
		a := Assertion{Pos: posOf(m.node)}
		if v := m.get("name"); v != nil {
			a.Name, _ = p.str(v, "name")
		}
		expect, rec := m.get("expect"), m.get("recovery")
		switch {
		case expect != nil && rec != nil:
			p.errs.add(m.keyPos("recovery"), "%s has both expect and recovery: a recovery carries its own expect", label)
			continue
		case expect == nil && rec == nil:
			p.errs.add(posOf(m.node), "%s has neither expect nor recovery: give expect: METRIC OP VALUE, e.g. expect: error_rate < 1%%", label)
			continue
		case rec != nil:
			if v := m.get("phase"); v != nil {
				p.errs.add(posOf(v), "%s: a recovery is timed from its fault, not a phase: remove phase", label)
			}
			a.Recovery, a.Expect = p.recovery(rec, env)
			if a.Name == "" && a.Recovery != nil {
				a.Name = fmt.Sprintf("recovery after %s within %s: %s", a.Recovery.After, a.Recovery.Within, a.Expect.Text)
			}
		default:
			if v := m.get("phase"); v != nil {
				if s, ok := p.str(v, "phase"); ok {
					a.Phase = s
					if !slices.Contains(env.phases, s) {
						p.errs.add(posOf(v), "%s: unknown phase %q:%s phases are %s", label, s, didYouMean(s, env.phases), orNone(env.phases))
					}
				}
			}
			a.Expect, _ = p.expr(expect, env.metrics, nil)
			if a.Name == "" {
				a.Name = a.Expect.Text
				if a.Phase != "" {
					a.Name = a.Phase + ": " + a.Name
				}
			}
		}
		out = append(out, a)
	}
	return out
}

// recovery reads {after, within, expect, window}.
func (p *parser) recovery(n *yaml.Node, env assertEnv) (*Recovery, Expr) {
	m := p.mapping(n, "recovery", recoveryKeys)
	if m == nil {
		return nil, Expr{}
	}
	r := &Recovery{Window: env.tick}
	if v := m.get("after"); v == nil {
		p.errs.add(posOf(m.node), "recovery has no after: name the fault it recovers from")
	} else if s, ok := p.str(v, "after"); ok {
		r.After = s
		names := sortedKeys(env.faults)
		if f, known := env.faults[s]; !known {
			p.errs.add(posOf(v), "recovery after unknown fault %q:%s faults are %s", s, didYouMean(s, names), orNone(names))
		} else if f.For == 0 {
			p.errs.add(posOf(v), "recovery after fault %q, which is never reverted: give the fault a for", s)
		}
	}
	if v := m.get("within"); v == nil {
		p.errs.add(posOf(m.node), "recovery has no within: say how soon after the revert it must recover, e.g. within: 5s")
	} else {
		r.Within, _ = p.duration(v, "within")
	}
	if v := m.get("window"); v != nil {
		r.Window, _ = p.positiveDuration(v, "window")
	}
	if v := m.get("beyond"); v != nil {
		r.Beyond, _ = p.positiveDuration(v, "beyond")
		if r.Within > 0 && r.Beyond >= r.Within {
			p.errs.add(posOf(v), "recovery beyond %s is not shorter than within %s: nothing could pass", r.Beyond, r.Within)
		}
	}
	var e Expr
	if v := m.get("expect"); v == nil {
		p.errs.add(posOf(m.node), "recovery has no expect: give the per-tick condition, e.g. expect: error_rate < 1%%")
	} else {
		e, _ = p.expr(v, env.metrics, tickMetrics)
	}
	return r, e
}

// expr parses a condition, reporting problems at their column inside it;
// only metrics in allowed are accepted when allowed is not nil.
func (p *parser) expr(n *yaml.Node, env metricEnv, allowed []string) (Expr, bool) {
	s, ok := p.str(n, "expect")
	if !ok {
		return Expr{}, false
	}
	n = deref(n)
	e, perr := parseExpr(s, env)
	if perr == nil && allowed != nil && !slices.Contains(allowed, e.Metric) {
		perr = &exprError{strings.Index(s, e.Metric), fmt.Sprintf("a recovery is judged tick by tick: metric %q is not measured per tick, use one of %s", e.Metric, strings.Join(allowed, ", "))}
	}
	if perr != nil {
		pos := posOf(n)
		if !strings.Contains(s, "\n") {
			switch n.Style {
			case 0:
				pos.Col += perr.off
			case yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
				if !strings.ContainsAny(s, "\\'") {
					pos.Col += perr.off + 1
				}
			}
		}
		p.errs.add(pos, "%s", perr.msg)
		return e, false
	}
	return e, true
}
