package reports

import (
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/require"
)

func parseJUnit(t *testing.T, r *Report) junitSuites {
	t.Helper()
	s, err := renderString(r, "junit")
	require.NoError(t, err)
	var doc junitSuites
	require.NoError(t, xml.Unmarshal([]byte(s), &doc), "junit.xml is well formed")
	return doc
}

func TestJUnitCases(t *testing.T) {
	doc := parseJUnit(t, fixture())
	require.Equal(t, 3, doc.Tests)
	require.Equal(t, 1, doc.Failures)
	require.Len(t, doc.Suites, 1)
	s := doc.Suites[0]
	require.Equal(t, "nat-port-exhaustion", s.Name)
	require.Len(t, s.Cases, 3)
	for _, c := range s.Cases {
		require.Equal(t, "natlab.nat-port-exhaustion", c.Classname)
	}
	require.Nil(t, s.Cases[0].Failure)
	f := s.Cases[2].Failure
	require.NotNil(t, f)
	require.Equal(t, "observed 23.5% at +15.0s, expected < 1% by +15.0s", f.Message)
	require.Equal(t, "15", s.Cases[2].Line)
	require.Equal(t, "fixtures/nat-port-exhaustion.yaml", s.Cases[2].File)
}

// An interrupted run fails a "run completed" case, so CI never reads a
// half-run as green.
func TestJUnitIncomplete(t *testing.T) {
	r := fixture()
	r.Verdict, r.Incomplete = VerdictIncomplete, "interrupted by SIGINT at +12.0s"
	r.Assertions = r.Assertions[:1] // only the first was judged; it passed
	doc := parseJUnit(t, r)
	s := doc.Suites[0]
	require.Equal(t, 2, s.Tests)
	require.Equal(t, 1, s.Failures)
	last := s.Cases[len(s.Cases)-1]
	require.Equal(t, "run completed", last.Name)
	require.NotNil(t, last.Failure)
	require.Contains(t, last.Failure.Message, "interrupted by SIGINT at +12.0s")
}

func TestSplitSource(t *testing.T) {
	for _, tc := range []struct{ in, file, line string }{
		{"a.yaml:12", "a.yaml", "12"},
		{"a.yaml:12:7", "a.yaml", "12"},
		{"builtin:nat-port-exhaustion:3:1", "builtin:nat-port-exhaustion", "3"},
		{"a.yaml", "a.yaml", ""},
		{"", "", ""},
		{"C:weird", "C:weird", ""},
	} {
		f, l := splitSource(tc.in)
		require.Equal(t, tc.file, f, tc.in)
		require.Equal(t, tc.line, l, tc.in)
	}
}
