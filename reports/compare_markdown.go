package reports

import (
	"bufio"
	"fmt"
	"io"
)

// compareMarkdownWriter writes compare.md, short enough for a CI step
// summary.
type compareMarkdownWriter struct{}

func (compareMarkdownWriter) name() string { return "md" }
func (compareMarkdownWriter) file() string { return "compare.md" }

func (compareMarkdownWriter) write(w io.Writer, c *Comparison) error {
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, "## natlab compare %s: %s\n\n", mdText(c.Scenario.Name), verdictWord(c.Verdict))
	fmt.Fprintf(b, "**%s**\n\n", mdText(c.summaryLine()))
	if c.Scenario.Description != "" {
		fmt.Fprintf(b, "%s\n\n", mdText(c.Scenario.Description))
	}
	fmt.Fprintf(b, "%s.\n\n", mdText(c.aboutLine()))

	b.WriteString("### Variants\n\n")
	mdTable(b, variantHead, c.variantRows(mdText))

	if names := c.assertionNames(); len(names) > 0 {
		b.WriteString("### Assertions\n\n")
		head := []string{"Assertion"}
		for _, v := range c.Variants {
			head = append(head, mdText(v.Name))
		}
		rows := make([][]string, 0, len(names))
		for _, n := range names {
			row := []string{mdCode(n)}
			for _, v := range c.Variants {
				cell, _, _ := assertionCell(v, n)
				row = append(row, mdText(cell))
			}
			rows = append(rows, row)
		}
		mdTable(b, head, rows)
	}

	b.WriteString("### Runs\n\n")
	mdTable(b, runHead, c.runRows(mdText, mdCode))
	b.WriteString("ok/s is over the whole run. Latency: connect is each successful handshake, request each ok attempt, " +
		"failed how long the failed attempts took. NAT figures are peaks over the run (allocation failures: the sum). " +
		"Charts: compare.html; each variant's own reports are in its directory.\n")
	if err := b.Flush(); err != nil {
		return fmt.Errorf("write comparison markdown: %w", err)
	}
	return nil
}
