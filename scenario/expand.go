package scenario

import "go.yaml.in/yaml/v3"

// maxValues bounds the values a scenario may hold once its aliases are
// expanded, so that a small file of nested anchors cannot make the parser
// walk millions of values.
const maxValues = 100_000

// expandedSize counts the nodes of n with every alias expanded, stopping
// early once the count passes limit.
func expandedSize(n *yaml.Node, limit int) int {
	memo := map[*yaml.Node]int{}
	var size func(n *yaml.Node, depth int) int
	size = func(n *yaml.Node, depth int) int {
		if n == nil {
			return 0
		}
		if v, ok := memo[n]; ok {
			if v < 0 { // an alias inside its own anchor
				return limit + 1
			}
			return v
		}
		if depth > 1000 {
			return limit + 1
		}
		memo[n] = -1
		total := 1
		if n.Kind == yaml.AliasNode {
			total += size(n.Alias, depth+1)
		}
		for _, c := range n.Content {
			total += size(c, depth+1)
			if total > limit {
				break
			}
		}
		total = min(total, limit+1)
		memo[n] = total
		return total
	}
	return size(n, 0)
}
