package scenario

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
)

// setStep is one step of a --set path: a mapping key, or a list index.
type setStep struct {
	key   string
	index int // -1 for a key
}

var setIndex = regexp.MustCompile(`^([^\[\]]*)((?:\[\d+\])*)$`)

// parseSetPath reads "phases[1].load.rate" into steps.
func parseSetPath(p string) ([]setStep, error) {
	var out []setStep
	for _, part := range strings.Split(p, ".") {
		m := setIndex.FindStringSubmatch(part)
		if m == nil || (m[1] == "" && m[2] == "") {
			return nil, fmt.Errorf("%q is not a path: write keys joined by dots, with [N] for list items, e.g. phases[1].duration", p)
		}
		if m[1] != "" {
			out = append(out, setStep{key: m[1], index: -1})
		}
		for _, idx := range regexp.MustCompile(`\d+`).FindAllString(m[2], -1) {
			n, _ := strconv.Atoi(idx)
			out = append(out, setStep{index: n})
		}
	}
	return out, nil
}

// applySets overrides values of the document before it is read, as
// `--set PATH=VALUE` asks: VALUE is YAML (a scalar, or a flow mapping or
// list); a missing key of a mapping is added. Every problem is reported.
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
	at := "the scenario"
	for i, st := range steps {
		last := i == len(steps)-1
		n = deref(n)
		if st.index < 0 {
			if n.Kind != yaml.MappingNode {
				return fmt.Errorf("%s is not a mapping, so it has no key %q", at, st.key)
			}
			found := false
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == st.key {
					found = true
					if last {
						place(v, n.Content[j])
						n.Content[j+1] = v
						return nil
					}
					n = n.Content[j+1]
					break
				}
			}
			if !found {
				if !last {
					return fmt.Errorf("%s has no key %q", at, st.key)
				}
				key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: st.key, Line: n.Line, Column: n.Column}
				place(v, key)
				n.Content = append(n.Content, key, v)
				return nil
			}
			at = strconv.Quote(st.key)
			continue
		}
		if n.Kind != yaml.SequenceNode {
			return fmt.Errorf("%s is not a list, so it has no item [%d]", at, st.index)
		}
		if st.index >= len(n.Content) {
			return fmt.Errorf("%s has %d items: [%d] is out of range", at, len(n.Content), st.index)
		}
		if last {
			place(v, n.Content[st.index])
			n.Content[st.index] = v
			return nil
		}
		n = n.Content[st.index]
		at = fmt.Sprintf("%s[%d]", at, st.index)
	}
	return nil
}

// place gives v (and what it holds) the position of the node it replaces.
func place(v, at *yaml.Node) {
	v.Line, v.Column = at.Line, at.Column
	for _, c := range v.Content {
		place(c, at)
	}
}
