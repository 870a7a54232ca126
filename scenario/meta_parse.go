package scenario

import (
	"strings"
)

// Kinds of scenario: what a scenario is to the incident it names.
const (
	// KindIncident reproduces an incident as it happened: it asserts that
	// the failure happens.
	KindIncident = "incident"
	// KindFix is an incident's schedule with one of its fixes applied: it
	// asserts what the fix removes or only lowers.
	KindFix = "fix"
	// KindGate checks a configuration in CI: it fails the build when
	// egress breaks.
	KindGate = "gate"
	// KindDemo shows a mechanism or compares strategies.
	KindDemo = "demo"
)

// Kinds lists the valid values of a scenario's kind.
var Kinds = []string{KindIncident, KindFix, KindGate, KindDemo}

// meta reads the incident and kind keys: which incident report (a seed
// number such as "001") a scenario belongs to and what it is to it. An
// incident or a fix names its incident; a gate or a demo may.
func (p *parser) meta(m *mapping, s *Scenario) {
	if v := m.get("incident"); v != nil {
		if id, ok := p.str(v, "incident"); ok {
			if !validIncident(id) {
				p.errs.add(posOf(v), "incident %q: want the incident report's number, three digits such as \"001\"", id)
			} else {
				s.Incident = id
			}
		}
	}
	v := m.get("kind")
	if v == nil {
		if s.Incident != "" {
			p.errs.add(m.keyPos("incident"), "incident %s has no kind: add kind: %s", s.Incident, strings.Join(Kinds, " | "))
		}
		return
	}
	k, ok := p.str(v, "kind")
	if !ok {
		return
	}
	switch k {
	case KindIncident, KindFix:
		if m.get("incident") == nil {
			p.errs.add(posOf(v), "kind %s needs the incident it belongs to: add incident: \"NNN\", the incident report's number", k)
		}
	case KindGate, KindDemo:
	default:
		p.errs.add(posOf(v), "kind %q:%s valid kinds are %s", k, didYouMean(k, Kinds), strings.Join(Kinds, ", "))
		return
	}
	s.Kind = k
}

func validIncident(id string) bool {
	if len(id) != 3 {
		return false
	}
	for _, c := range id {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
