package reports

import (
	"strings"
	"testing"

	"github.com/natlab/natlab/loadgen"
	"github.com/stretchr/testify/require"
)

func TestMarkdownVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(r *Report)
		want   []string
	}{
		{"fail", func(r *Report) {}, []string{"## natlab nat-port-exhaustion: FAIL", "**FAIL: 1 of 3 assertions failed**"}},
		{"pass", func(r *Report) { r.Verdict, r.Assertions[2].Passed = VerdictPass, true },
			[]string{"## natlab nat-port-exhaustion: PASS", "**PASS: all 3 assertions held**"}},
		{"incomplete", func(r *Report) { r.Verdict, r.Incomplete = VerdictIncomplete, "interrupted" },
			[]string{"## natlab nat-port-exhaustion: INCOMPLETE", "**INCOMPLETE: the run stopped early: interrupted (1 of 3 assertions failed)**"}},
		{"no faults or alarms", func(r *Report) { r.Faults, r.Alarms = nil, nil }, []string{"### NAT"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fixture()
			tc.mutate(r)
			md, err := renderString(r, "md")
			require.NoError(t, err)
			for _, w := range tc.want {
				require.Contains(t, md, w)
			}
			if r.Faults == nil {
				require.NotContains(t, md, "### Faults")
				require.NotContains(t, md, "### Alarms")
			}
			// A CI summary stays short.
			require.Less(t, strings.Count(md, "\n"), 60)
		})
	}
}

func TestMarkdownEscaping(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a | b", `a \| b`},
		{"<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
		{"ip_forward*2", `ip\_forward\*2`},
		{"line\nbreak", "line break"},
		{"[link](x)", `\[link\](x)`},
	} {
		require.Equal(t, tc.want, mdText(tc.in))
	}
	require.Equal(t, "`a \\| b'`", mdCode("a | b`"))
	require.Equal(t, "", mdCode(""))
	// A table row never breaks, whatever the assertion text holds.
	r := fixture()
	r.Assertions[0].Name = "x | y\nz"
	r.Assertions[0].Observed = "1|2"
	md, err := renderString(r, "md")
	require.NoError(t, err)
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| PASS | `x") {
			require.Equal(t, 6, strings.Count(line, " | ")+2, "row %q has 5 cells", line)
			return
		}
	}
	t.Fatal("assertion row not found")
}

// The attempts an interrupted run left in flight are neither hidden nor
// counted as ok: they have their row in the outcome table, and the error
// rate counts them as not ok, over all attempts.
func TestInFlightAttemptsCount(t *testing.T) {
	r := fixture()
	r.Verdict, r.Incomplete = VerdictIncomplete, "interrupted (SIGINT)"
	peak := loadgen.Counts{Attempts: 2420, InFlight: 20, Outcomes: map[loadgen.Outcome]uint64{loadgen.OutcomeOK: 1800,
		loadgen.OutcomeConnectTimeout: 500, loadgen.OutcomeReset: 80, loadgen.OutcomeReadTimeout: 20}}
	offpeak := loadgen.Counts{Attempts: 1000, Outcomes: map[loadgen.Outcome]uint64{loadgen.OutcomeOK: 990, loadgen.OutcomeConnectTimeout: 10}}
	var total loadgen.Counts
	total.Add(offpeak)
	total.Add(peak)
	r.Phases[0].Counts, r.Phases[1].Counts, r.Totals = TotalsOf(offpeak), TotalsOf(peak), TotalsOf(total)
	require.NoError(t, r.Validate())
	require.InDelta(t, 620.0/2420, r.Phases[1].Counts.ErrorRate, 1e-12, "600 errors + 20 in flight of 2420")
	md, err := renderString(r, "md")
	require.NoError(t, err)
	require.Contains(t, md, "| peak | 2,420 | 1,800 | 600 | 25.6% |")
	require.Contains(t, md, "| total | 3,420 | 2,790 | 610 | 18.4% |")
	require.Contains(t, md, "| in flight (no outcome) | 20 | 0.6% |")
	require.Contains(t, md, "| `ok` | 2,790 | 81.6% |", "shares are of all attempts")
	page := renderHTML(t, r)
	require.Contains(t, page, "<td>in flight (no outcome)</td>")
	require.Contains(t, page, "<td><code>ok</code></td>")

	// The same stragglers in a run that says it is complete are refused.
	r.Verdict, r.Incomplete = VerdictFail, ""
	require.ErrorContains(t, r.Validate(), "20 attempts still in flight")
	_, err = renderString(r, "md")
	require.ErrorContains(t, err, "still in flight")
}
