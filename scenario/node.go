package scenario

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
)

// parser walks yaml nodes, converting values and recording every problem
// with the position of the node that caused it.
type parser struct {
	errs *collector
	// dir is the scenario's folder on disk ("" when it is not on disk).
	dir string
	// read reads a file named relative to the scenario (nil: none can be).
	read readFunc
	// machine bounds the magnitudes of loads.
	machine Machine
	// natConfig, when set, replaces the profile keys of every NAT box;
	// natBefore are the boxes as the scenario alone set them.
	natConfig *NATConfig
	natBefore []testbed.NATSpec
	natChange *NATChange
}

// posOf returns the position of a node.
func posOf(n *yaml.Node) Pos {
	if n == nil {
		return Pos{1, 1}
	}
	return Pos{Line: n.Line, Col: n.Column}
}

// deref follows aliases to the node they stand for.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// describe names the shape of a node for messages.
func describe(n *yaml.Node) string {
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Tag == "!!null":
		return "null"
	}
	return fmt.Sprintf("%q", n.Value)
}

// mapping is a yaml mapping checked against its valid keys.
type mapping struct {
	node  *yaml.Node
	keys  map[string]*yaml.Node
	vals  map[string]*yaml.Node
	order []string
	// unknown counts the keys refused as unknown.
	unknown int
}

// mapping checks that n is a mapping whose keys are all in valid (every key
// is accepted when valid is nil), reporting unknown and repeated keys. what
// names the mapping in messages ("load", "testbed.nat"). It returns nil when
// n is not a mapping.
func (p *parser) mapping(n *yaml.Node, what string, valid []string) *mapping {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		if valid == nil {
			p.errs.add(posOf(n), "%s: want a mapping, got %s", what, describe(n))
		} else {
			p.errs.add(posOf(n), "%s: want a mapping of keys (%s), got %s", what, strings.Join(valid, ", "), describe(n))
		}
		return nil
	}
	m := &mapping{node: n, keys: map[string]*yaml.Node{}, vals: map[string]*yaml.Node{}}
	known := map[string]bool{}
	for _, k := range valid {
		known[k] = true
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k == nil || k.Kind != yaml.ScalarNode {
			p.errs.add(posOf(k), "%s: keys must be plain names, got %s", what, describe(k))
			continue
		}
		name := k.Value
		if prev, dup := m.keys[name]; dup {
			p.errs.add(posOf(k), "key %q appears twice in %s (first at line %d)", name, what, prev.Line)
			continue
		}
		if valid != nil && !known[name] {
			p.errs.add(posOf(k), "unknown key %q in %s:%s valid keys are %s", name, what, didYouMean(name, valid), strings.Join(valid, ", "))
			m.unknown++
			continue
		}
		m.keys[name] = k
		m.vals[name] = v
		m.order = append(m.order, name)
	}
	return m
}

// get returns the value of key, or nil when it is absent.
func (m *mapping) get(key string) *yaml.Node {
	if m == nil {
		return nil
	}
	return m.vals[key]
}

// keyPos returns the position of key, or of the mapping when it is absent.
func (m *mapping) keyPos(key string) Pos {
	if m == nil {
		return Pos{1, 1}
	}
	if k, ok := m.keys[key]; ok {
		return posOf(k)
	}
	return posOf(m.node)
}

// list returns the items of a sequence; a single mapping counts as a list
// of one when single is true.
func (p *parser) list(n *yaml.Node, what string, single bool) []*yaml.Node {
	n = deref(n)
	if n == nil {
		return nil
	}
	if n.Kind == yaml.SequenceNode {
		out := make([]*yaml.Node, len(n.Content))
		for i, c := range n.Content {
			out[i] = deref(c)
		}
		return out
	}
	if single && n.Kind == yaml.MappingNode {
		return []*yaml.Node{n}
	}
	p.errs.add(posOf(n), "%s: want a list, got %s", what, describe(n))
	return nil
}

// scalar checks that n is a non-null scalar.
func (p *parser) scalar(n *yaml.Node, what, want string) bool {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errs.add(posOf(n), "%s: want %s, got %s", what, want, describe(n))
		return false
	}
	return true
}

// str reads a string.
func (p *parser) str(n *yaml.Node, what string) (string, bool) {
	if !p.scalar(n, what, "a string") {
		return "", false
	}
	return deref(n).Value, true
}

// integer reads a whole number within [lo, hi].
func (p *parser) integer(n *yaml.Node, what string, lo, hi int) (int, bool) {
	if !p.scalar(n, what, "a whole number") {
		return 0, false
	}
	n = deref(n)
	v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
	if err != nil {
		p.errs.add(posOf(n), "%s %q: want a whole number", what, n.Value)
		return 0, false
	}
	if v < int64(lo) || v > int64(hi) {
		p.errs.add(posOf(n), "%s %d: want a number from %d to %d", what, v, lo, hi)
		return 0, false
	}
	return int(v), true
}

// boolean reads true or false.
func (p *parser) boolean(n *yaml.Node, what string) (bool, bool) {
	if !p.scalar(n, what, "true or false") {
		return false, false
	}
	n = deref(n)
	switch strings.ToLower(n.Value) {
	case "true", "yes", "on":
		return true, true
	case "false", "no", "off":
		return false, true
	}
	p.errs.add(posOf(n), "%s %q: want true or false", what, n.Value)
	return false, false
}

// duration reads a Go-style duration (10s, 1m30s, 250ms) that is not negative.
func (p *parser) duration(n *yaml.Node, what string) (time.Duration, bool) {
	if !p.scalar(n, what, "a duration such as 10s") {
		return 0, false
	}
	n = deref(n)
	d, err := time.ParseDuration(strings.TrimSpace(n.Value))
	if err != nil {
		if _, numErr := strconv.ParseFloat(n.Value, 64); numErr == nil {
			p.errs.add(posOf(n), "%s %s: a duration needs a unit, such as %ss or %sms", what, n.Value, n.Value, n.Value)
			return 0, false
		}
		p.errs.add(posOf(n), "%s %q: want a duration such as 10s, 1m30s or 250ms", what, n.Value)
		return 0, false
	}
	if d < 0 {
		p.errs.add(posOf(n), "%s %s: a duration must not be negative", what, n.Value)
		return 0, false
	}
	return d, true
}

// positiveDuration reads a duration that must be above zero.
func (p *parser) positiveDuration(n *yaml.Node, what string) (time.Duration, bool) {
	d, ok := p.duration(n, what)
	if ok && d == 0 {
		p.errs.add(posOf(n), "%s 0: want a duration above zero", what)
		return 0, false
	}
	return d, ok
}

// rate reads an arrival rate such as 100/s.
func (p *parser) rate(n *yaml.Node, what string) (loadgen.Rate, bool) {
	if !p.scalar(n, what, "a rate such as 100/s") {
		return loadgen.Rate{}, false
	}
	n = deref(n)
	r, err := loadgen.ParseRate(n.Value)
	if err != nil {
		p.errs.add(posOf(n), "%s %q: want a rate such as 100/s, 5/100ms or 60/m", what, n.Value)
		return loadgen.Rate{}, false
	}
	return r, true
}

// parseNumberOrPercent reads "12.5%" as 0.125 and "3" as 3.
func parseNumberOrPercent(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	pct := strings.HasSuffix(s, "%")
	s = strings.TrimSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	if pct {
		v /= 100
	}
	return v, true
}
