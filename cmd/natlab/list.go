package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/natlab/natlab/fixtures"
	"github.com/natlab/natlab/scenario"
)

func newListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the scenarios built into natlab, grouped by incident",
		Long: `List the scenarios built into natlab, grouped by the incident report
each belongs to (its incident key), and say what each is to it (its kind):
an incident reproduces the failure as it happened, a fix runs the same
schedule with one of the report's fixes, a gate checks a config change in
CI, a demo shows a mechanism. Scenarios of no incident come last.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var all []*scenario.Scenario
			for _, name := range fixtures.Scenarios() {
				sc, err := loadScenario(name, nil)
				if err != nil {
					return fmt.Errorf("fixture %s is broken: %w", name, err)
				}
				sc.Name = name
				all = append(all, sc)
			}
			return writeList(cmd.OutOrStdout(), all)
		},
	}
}

// writeList writes one group per incident, in the incident's number order,
// then the scenarios of none: a heading line, then one indented line per
// scenario (name, kind, first sentence of its description), the incident
// first, its fixes next, then the rest, by name within each kind.
func writeList(out io.Writer, all []*scenario.Scenario) error {
	rank := func(k string) int {
		if i := slices.Index(scenario.Kinds, k); i >= 0 {
			return i
		}
		return len(scenario.Kinds)
	}
	sorted := slices.Clone(all)
	slices.SortStableFunc(sorted, func(a, b *scenario.Scenario) int {
		switch {
		case a.Incident != b.Incident && (a.Incident == "" || b.Incident == ""):
			return strings.Compare(b.Incident, a.Incident) // none last
		case a.Incident != b.Incident:
			return strings.Compare(a.Incident, b.Incident)
		case rank(a.Kind) != rank(b.Kind):
			return rank(a.Kind) - rank(b.Kind)
		}
		return strings.Compare(a.Name, b.Name)
	})
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	group := "?"
	for _, sc := range sorted {
		if sc.Incident != group {
			group = sc.Incident
			if group == "" {
				fmt.Fprintln(w, "no incident")
			} else {
				fmt.Fprintf(w, "incident %s\n", group)
			}
		}
		kind := sc.Kind
		if kind == "" {
			kind = "-"
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\n", sc.Name, kind, firstSentence(sc.Description))
	}
	return w.Flush()
}

// firstSentence shortens a description to its first sentence.
func firstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}
