package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// docs/scenarios.md names every load key, backend key, strategy and
// backend metric the parser accepts, so a new one cannot go undocumented.
func TestScenariosDocNamesEveryKey(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "scenarios.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	var names []string
	names = append(names, loadKeys...)
	names = append(names, backendKeys...)
	names = append(names, depKeys...)
	names = append(names, strategies...)
	names = append(names, backendFields...)
	for _, n := range names {
		if !strings.Contains(doc, "`"+n) && !strings.Contains(doc, n+":") && !strings.Contains(doc, "."+n) {
			t.Errorf("docs/scenarios.md does not name %q", n)
		}
	}
}
