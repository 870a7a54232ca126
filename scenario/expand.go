package scenario

import "go.yaml.in/yaml/v4"

// Limits on what a scenario file may hold. A real scenario has a few
// hundred values nested less than ten deep; the limits are far above that
// and only keep a hostile or broken file from exhausting the parser.
const (
	// maxFileSize bounds the bytes read from a scenario file; reading stops
	// there, so `natlab validate /dev/zero` ends at once.
	maxFileSize = 1 << 20
	// maxValues bounds the values a scenario may hold, also once its
	// aliases are expanded, so that a small file of nested anchors cannot
	// make the parser walk millions of values.
	maxValues = 100_000
	// maxDepth bounds how deeply values may nest.
	maxDepth = 100
)

// shape is what measure found in a document.
type shape struct {
	// values counts the nodes as written; expanded counts them with every
	// alias expanded. Both stop counting past maxValues.
	values, expanded int
	// tooDeep is the first node nested deeper than maxDepth, if any.
	tooDeep *yaml.Node
	// selfAlias is an alias that refers to an anchor it is inside.
	selfAlias *yaml.Node
}

// measure walks n once as written and once with aliases expanded,
// stopping early once a limit is passed.
func measure(n *yaml.Node) shape {
	var s shape
	var plain func(n *yaml.Node, depth int)
	plain = func(n *yaml.Node, depth int) {
		if n == nil || s.values > maxValues || s.tooDeep != nil {
			return
		}
		if depth > maxDepth {
			s.tooDeep = n
			return
		}
		s.values++
		for _, c := range n.Content {
			plain(c, depth+1)
		}
	}
	plain(n, 0)

	memo := map[*yaml.Node]int{}
	var expand func(n *yaml.Node, depth int) int
	expand = func(n *yaml.Node, depth int) int {
		if n == nil {
			return 0
		}
		if v, ok := memo[n]; ok {
			return max(v, 0)
		}
		if depth > maxDepth {
			return maxValues + 1
		}
		memo[n] = -1
		total := 1
		if n.Kind == yaml.AliasNode {
			if v, ok := memo[n.Alias]; ok && v < 0 {
				if s.selfAlias == nil {
					s.selfAlias = n
				}
			} else {
				total += expand(n.Alias, depth+1)
			}
		}
		for _, c := range n.Content {
			total += expand(c, depth+1)
			if total > maxValues {
				break
			}
		}
		total = min(total, maxValues+1)
		memo[n] = total
		return total
	}
	s.expanded = expand(n, 0)
	return s
}
