package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/natlab/natlab/fixtures"
)

func newListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the incident scenarios built into natlab",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			for _, name := range fixtures.Scenarios() {
				sc, err := loadScenario(name, nil)
				if err != nil {
					return fmt.Errorf("fixture %s is broken: %w", name, err)
				}
				fmt.Fprintf(w, "%s\t%s\n", name, firstSentence(sc.Description))
			}
			return w.Flush()
		},
	}
}

// firstSentence shortens a description to its first sentence.
func firstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}
