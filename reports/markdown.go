package reports

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// markdownWriter writes report.md, short enough for a CI step summary.
type markdownWriter struct{}

func (markdownWriter) name() string { return "md" }
func (markdownWriter) file() string { return "report.md" }

func (markdownWriter) write(w io.Writer, r *Report) error {
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, "## natlab %s: %s\n\n", mdText(r.Scenario.Name), verdictWord(r.Verdict))
	fmt.Fprintf(b, "**%s**\n\n", mdText(r.summaryLine()))
	if r.Scenario.Description != "" {
		fmt.Fprintf(b, "%s\n\n", mdText(r.Scenario.Description))
	}
	fmt.Fprintf(b, "%s\n\n", mdText(r.runLine()))
	if c := r.NATConfig; c != nil {
		b.WriteString("### NAT config candidate\n\n")
		fmt.Fprintf(b, "%s, read as %s.", mdCode(c.source()), mdText(c.Form))
		if len(c.Changes) == 0 {
			b.WriteString(" No setting differs from the scenario's.\n\n")
		} else {
			b.WriteString("\n\n")
			rows := make([][]string, 0, len(c.Changes))
			for _, ch := range c.Changes {
				rows = append(rows, []string{mdText(ch.NAT), mdCode(ch.Setting), mdText(ch.Before), mdText(ch.After)})
			}
			mdTable(b, []string{"NAT", "Setting", "Scenario", "Candidate"}, rows)
		}
		for _, ig := range c.Ignored {
			fmt.Fprintf(b, "- ignored: %s\n", mdText(ig))
		}
		if len(c.Ignored) > 0 {
			b.WriteString("\n")
		}
	}

	if len(r.Assertions) > 0 {
		b.WriteString("### Assertions\n\n")
		rows := make([][]string, 0, len(r.Assertions))
		for _, a := range r.Assertions {
			rows = append(rows, []string{result(a.Passed), mdCode(a.Name), mdText(a.Observed), mdText(a.Expected), mdCode(a.Source)})
		}
		mdTable(b, []string{"Result", "Assertion", "Observed", "Expected", "Source"}, rows)
	}

	b.WriteString("### Load\n\n")
	mdTable(b, loadHead, r.loadRows(mdText))
	if ors := r.outcomeRows(); len(ors) > 0 {
		rows := make([][]string, 0, len(ors))
		for _, o := range ors {
			name := mdText(o.Name)
			if o.Outcome {
				name = mdCode(o.Name)
			}
			rows = append(rows, []string{name, o.Count, o.Share})
		}
		mdTable(b, []string{"Outcome", "Attempts", "Share"}, rows)
	}

	if len(r.NAT) > 0 {
		b.WriteString("### NAT\n\n")
		mdTable(b, natHead, r.natRows(mdText))
		for _, l := range r.awsLines(mdCode) {
			b.WriteString(l + "\n\n")
		}
		for _, g := range r.gcpBoxes(mdCode) {
			b.WriteString(g.Line + "\n\n")
			if len(g.VMs) > 0 {
				mdTable(b, gcpVMHead, g.VMs)
			}
		}
	}
	if sm := r.Sampling; sm != nil {
		fmt.Fprintf(b, "Sampling: tick %gs, %d late ticks (started more than 20%% of the tick late; latest %.3fs), %d missing NAT readings.\n\n",
			sm.Tick.Float(), sm.LateTicks, sm.MaxLate.Float(), sm.MissingNATReadings)
	}
	if len(r.Faults) > 0 {
		b.WriteString("### Faults\n\n")
		rows := make([][]string, 0, len(r.Faults))
		for _, f := range r.Faults {
			rows = append(rows, []string{mdText(f.Name), mdCode(f.Kind), mdText(f.Host), mdText(f.Description),
				r.faultStart(f), r.windowEnd(f), mdText(faultNote(f))})
		}
		mdTable(b, []string{"Fault", "Kind", "Host", "What", "Injected", "Reverted", "Problem"}, rows)
		if eff := r.preChangeRows(mdText); len(eff) > 0 {
			b.WriteString("Pre-change check of NAT config changes: the NAT's last reading before the change, the effects on live connections it predicted from conntrack then, and what it counted after:\n\n")
			mdTable(b, preChangeHead, eff)
		}
	}
	if len(r.Candidates) > 0 {
		b.WriteString("### Candidate sysctls\n\n")
		rows := make([][]string, 0, len(r.Candidates))
		for _, c := range r.Candidates {
			rows = append(rows, []string{mdText(c.NAT), mdText(c.File), mdText(strings.Join(c.Sysctls, "; ")),
				mdText(strings.Join(c.Breaks, "; ")), humanDur(c.IPForwardOff)})
		}
		mdTable(b, []string{"NAT", "File", "Keys", "Breaks egress", "ip_forward off"}, rows)
	}
	if len(r.Apps) > 0 {
		b.WriteString("### Apps\n\n")
		mdTable(b, appHead, r.appRows(mdText))
		for _, a := range r.Apps {
			if len(a.Restarted) > 0 {
				fmt.Fprintf(b, "Restarts of %s: %s.\n\n", mdText(a.Name), mdText(r.restartLine(a)))
			}
		}
	}
	if len(r.Alarms) > 0 {
		b.WriteString("### Alarms\n\n")
		rows := make([][]string, 0, len(r.Alarms))
		for _, a := range r.Alarms {
			rows = append(rows, []string{mdText(a.Name), mdCode(a.Metric), mdCode(a.Threshold), r.alarmFired(a)})
		}
		mdTable(b, []string{"Alarm", "Metric", "Threshold", "First fired"}, rows)
	}
	b.WriteString("Times are seconds since the start of the run. Details: report.html, report.json, samples.csv.\n")
	if err := b.Flush(); err != nil {
		return fmt.Errorf("write markdown: %w", err)
	}
	return nil
}

// mdTable writes a GitHub-flavoured markdown table and a blank line.
func mdTable(w io.Writer, head []string, rows [][]string) {
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
	for _, row := range rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
	fmt.Fprintln(w)
}

// mdEscaper escapes what markdown (and the HTML it allows) would interpret.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "|", `\|`, "<", "&lt;", ">", "&gt;", "&", "&amp;", "*", `\*`, "_", `\_`,
	"`", "\\`", "[", `\[`, "]", `\]`, "#", `\#`, "\r\n", " ", "\n", " ", "\r", " ",
)

// mdText escapes free text for a markdown paragraph or table cell.
func mdText(s string) string { return mdEscaper.Replace(s) }

// mdCode writes s as inline code in a table cell (empty stays empty).
func mdCode(s string) string {
	if s == "" {
		return ""
	}
	s = strings.NewReplacer("`", "'", "|", `\|`, "\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	return "`" + s + "`"
}

// observedCount writes an observed count, or that none was read.
func observedCount(n *int) string {
	if n == nil {
		return "not read (never reverted)"
	}
	return fmt.Sprint(*n)
}
