package reports

import (
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/internal/tooltest"
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

// validateJUnit runs xmllint against testdata/junit.xsd on doc.
func validateJUnit(t *testing.T, xmllint string, doc []byte) error {
	t.Helper()
	f := filepath.Join(t.TempDir(), "junit.xml")
	require.NoError(t, os.WriteFile(f, doc, 0o644))
	out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("testdata", "junit.xsd"), f).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

// junit.xml validates against the JUnit XML schema CI systems read
// (testdata/junit.xsd, see testdata/README.md): a failing run, an
// incomplete one and one without assertions. A file the schema must
// refuse is refused, so the check is not vacuous.
func TestJUnitValidatesAgainstSchema(t *testing.T) {
	xmllint := tooltest.Require(t, "libxml2-utils", "xmllint")
	inc := fixture()
	inc.Verdict, inc.Incomplete = VerdictIncomplete, "interrupted <Ctrl-C> & \"quoted\""
	none := fixture()
	none.Assertions, none.Verdict = nil, VerdictPass
	for name, r := range map[string]*Report{"fail": fixture(), "incomplete": inc, "no assertions": none} {
		s, err := renderString(r, "junit")
		require.NoError(t, err, name)
		require.NoError(t, validateJUnit(t, xmllint, []byte(s)), name)
	}
	s, err := renderString(fixture(), "junit")
	require.NoError(t, err)
	for name, bad := range map[string]string{
		"negative count":   strings.Replace(s, `failures="1"`, `failures="-1"`, 1),
		"case has no name": regexp.MustCompile(`<testcase name="[^"]*"`).ReplaceAllString(s, "<testcase"),
		"unknown element":  strings.Replace(s, "</testsuite>", "<verdict>fail</verdict></testsuite>", 1),
	} {
		require.NotEqual(t, s, bad, name)
		require.Error(t, validateJUnit(t, xmllint, []byte(bad)), name)
	}
}
