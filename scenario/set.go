package scenario

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
)

// setStep is one step of a --set path: a mapping key, a list index, or
// every item of a list.
type setStep struct {
	key   string
	index int // keyStep for a key, everyItem for [*]
}

const (
	keyStep   = -1
	everyItem = -2
)

var (
	setIndex = regexp.MustCompile(`^([^\[\]]*)((?:\[(?:\d+|\*)\])*)$`)
	setItem  = regexp.MustCompile(`\d+|\*`)
)

// parseSetPath reads "phases[1].load.rate" (or "phases[*].load.rate",
// every phase) into steps.
func parseSetPath(p string) ([]setStep, error) {
	var out []setStep
	for _, part := range strings.Split(p, ".") {
		m := setIndex.FindStringSubmatch(part)
		if m == nil || (m[1] == "" && m[2] == "") {
			return nil, fmt.Errorf("%q is not a path: write keys joined by dots, with [N] for list items or [*] for all of them, e.g. phases[1].duration", p)
		}
		if m[1] != "" {
			out = append(out, setStep{key: m[1], index: keyStep})
		}
		for _, idx := range setItem.FindAllString(m[2], -1) {
			if idx == "*" {
				out = append(out, setStep{index: everyItem})
				continue
			}
			n, _ := strconv.Atoi(idx)
			out = append(out, setStep{index: n})
		}
	}
	return out, nil
}

// applySets overrides values of the document before it is read, as
// `--set PATH=VALUE` asks: VALUE is YAML (a scalar, or a flow mapping or
// list); a missing key of a mapping is added; [*] sets the rest of the path
// in every item of a list that has it (items without the path's
// intermediate keys, such as an idle phase without a load, are left alone;
// at least one item must take the value). Every problem is reported.
// Replaced values take the position of the key they replace, so errors in
// them point at the line that was overridden.
func applySets(doc *yaml.Node, sets []string, errs *collector) {
	if len(doc.Content) == 0 {
		return
	}
	for _, s := range sets {
		path, value, ok := strings.Cut(s, "=")
		if !ok {
			errs.addSet(s, "want PATH=VALUE, e.g. testbed.nat.ports=1024-2047")
			continue
		}
		steps, err := parseSetPath(strings.TrimSpace(path))
		if err != nil {
			errs.addSet(s, "%v", err)
			continue
		}
		var v yaml.Node
		if err := yaml.Unmarshal([]byte(value), &v); err != nil || len(v.Content) == 0 {
			v = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}}}
		}
		if err := setAt(doc.Content[0], steps, v.Content[0]); err != nil {
			errs.addSet(s, "%v", err)
		}
	}
}

func setAt(n *yaml.Node, steps []setStep, v *yaml.Node) error {
	_, err := setFrom(n, steps, v, "the scenario")
	return err
}

// errNoPath is the error of a path whose intermediate key is missing; [*]
// skips the items that give it.
type errNoPath struct{ msg string }

func (e *errNoPath) Error() string { return e.msg }

// setFrom sets v at steps below n (named at) and returns how many places
// took it.
func setFrom(n *yaml.Node, steps []setStep, v *yaml.Node, at string) (int, error) {
	for i, st := range steps {
		last := i == len(steps)-1
		n = deref(n)
		if st.index == everyItem {
			if n.Kind != yaml.SequenceNode {
				return 0, fmt.Errorf("%s is not a list, so it has no items [*]", at)
			}
			if len(n.Content) == 0 {
				return 0, fmt.Errorf("%s is empty: [*] has no item to set", at)
			}
			total := 0
			var skipped error
			for j := range n.Content {
				item := fmt.Sprintf("%s[%d]", at, j)
				if last {
					c := copyNode(v)
					place(c, n.Content[j])
					n.Content[j] = c
					total++
					continue
				}
				k, err := setFrom(n.Content[j], steps[i+1:], copyNode(v), item)
				var np *errNoPath
				switch {
				case errors.As(err, &np):
					skipped = err
				case err != nil:
					return total, err
				}
				total += k
			}
			if total == 0 {
				return 0, fmt.Errorf("no item of %s takes the value: %w", at, skipped)
			}
			return total, nil
		}
		if st.index == keyStep {
			if n.Kind != yaml.MappingNode {
				return 0, fmt.Errorf("%s is not a mapping, so it has no key %q", at, st.key)
			}
			found := false
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == st.key {
					found = true
					if last {
						place(v, n.Content[j])
						n.Content[j+1] = v
						return 1, nil
					}
					n = n.Content[j+1]
					break
				}
			}
			if !found {
				if !last {
					return 0, &errNoPath{fmt.Sprintf("%s has no key %q", at, st.key)}
				}
				key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: st.key, Line: n.Line, Column: n.Column}
				place(v, key)
				n.Content = append(n.Content, key, v)
				return 1, nil
			}
			at = strconv.Quote(st.key)
			continue
		}
		if n.Kind != yaml.SequenceNode {
			return 0, fmt.Errorf("%s is not a list, so it has no item [%d]", at, st.index)
		}
		if st.index >= len(n.Content) {
			return 0, fmt.Errorf("%s has %d items: [%d] is out of range", at, len(n.Content), st.index)
		}
		if last {
			place(v, n.Content[st.index])
			n.Content[st.index] = v
			return 1, nil
		}
		n = n.Content[st.index]
		at = fmt.Sprintf("%s[%d]", at, st.index)
	}
	return 0, nil
}

// copyNode copies a value node deeply, so that every item [*] sets gets a
// node (and a position) of its own.
func copyNode(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, x := range n.Content {
		c.Content[i] = copyNode(x)
	}
	return &c
}

// place gives v (and what it holds) the position of the node it replaces.
func place(v, at *yaml.Node) {
	v.Line, v.Column = at.Line, at.Column
	for _, c := range v.Content {
		place(c, at)
	}
}
