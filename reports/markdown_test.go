package reports

import (
	"strings"
	"testing"

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
