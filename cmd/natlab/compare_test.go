package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/internal/browsertest"
	"github.com/natlab/natlab/internal/schematest"
	"github.com/natlab/natlab/internal/tooltest"
	"github.com/natlab/natlab/reports"
)

// The three pooling strategies against a small managed NAT pool: the
// unpooled variant runs out of ports (allocation failures, and the
// scenario's assertions fail), keep-alive and h2c do not. The same
// figures are in compare.json, compare.md and compare.html; the json
// validates against its schema; the pages open cleanly in Chromium; and
// natlab report renders them all again.
func TestCompareOfPoolingStrategies(t *testing.T) {
	requireRoot(t)
	out := t.TempDir()
	code, stdout, stderr := run(t, "compare", "pooling-strategies", "--out", out,
		"--variant", "http1-close: phases[*].load.pool=none",
		"--variant", "http1-keepalive: phases[*].load.pool=keepalive",
		"--variant", "h2c: phases[*].load.strategy=h2c")
	require.Equal(t, ExitFail, code, "the unpooled variant fails\n%s%s", stdout, stderr)
	assert.Contains(t, stdout, "FAIL: 1 of 3 variants did not pass (http1-close)")

	c, err := reports.ReadComparison(filepath.Join(out, "compare.json"))
	require.NoError(t, err)
	require.Len(t, c.Variants, 3)
	byName := map[string]reports.Variant{}
	for _, v := range c.Variants {
		byName[v.Name] = v
		t.Logf("%-16s %-4s ok/s %5.1f  error rate %5.1f%%  new conns/request %.3f  peak ports %3d (%.1f%%)  conntrack %3d  allocation failures %d  connect p99 %v  request p99 %v  failed p99 %v",
			v.Name, v.Verdict, v.Throughput, 100*v.ErrorRate, v.NewConnsPerRequest, v.PeakPortsInUse, 100*v.PeakPortUtilization,
			v.PeakConntrack, v.AllocationFailures, v.Latency.Connect.P99.D(), v.Latency.Request.P99.D(), v.Latency.Failed.P99.D())
	}
	close, keep, h2c := byName["http1-close"], byName["http1-keepalive"], byName["h2c"]
	assert.Equal(t, reports.VerdictFail, close.Verdict)
	assert.Greater(t, close.AllocationFailures, uint64(0), "unpooled runs out of the 256 ports")
	assert.Greater(t, close.PeakPortUtilization, 0.9)
	assert.Greater(t, close.Latency.Failed.Count, uint64(0), "failed attempts have a latency")
	for _, v := range []reports.Variant{keep, h2c} {
		assert.Equal(t, reports.VerdictPass, v.Verdict, v.Name)
		assert.Zero(t, v.AllocationFailures, v.Name)
		assert.Less(t, v.PeakPortUtilization, 0.2, v.Name)
		assert.Less(t, v.NewConnsPerRequest, 0.1, "%s reuses its connections", v.Name)
	}

	// One set of figures: md and html are what compare.json renders to.
	for _, f := range []struct{ format, file string }{{"md", "compare.md"}, {"html", "compare.html"}} {
		var buf bytes.Buffer
		require.NoError(t, reports.RenderComparison(&buf, c, f.format))
		got, err := os.ReadFile(filepath.Join(out, f.file))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(buf.Bytes(), got), "%s is not what compare.json renders to", f.file)
	}
	md, err := os.ReadFile(filepath.Join(out, "compare.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "| http1-close | FAIL |")

	// Real output against the published schemas.
	compareJSON, err := os.ReadFile(filepath.Join(out, "compare.json"))
	require.NoError(t, err)
	require.NoError(t, schematest.Validate("compare.schema.json", compareJSON))
	xmllint := tooltest.Require(t, "libxml2-utils", "xmllint")
	for _, v := range c.Variants {
		rep, err := os.ReadFile(filepath.Join(out, v.Dir, "report.json"))
		require.NoError(t, err, v.Name)
		require.NoError(t, schematest.Validate("report.schema.json", rep), v.Name)
		xsd := filepath.Join("..", "..", "reports", "testdata", "junit.xsd")
		lint, err := exec.Command(xmllint, "--noout", "--schema", xsd, filepath.Join(out, v.Dir, "junit.xml")).CombinedOutput()
		require.NoError(t, err, "%s junit.xml: %s", v.Name, lint)
	}

	// In a browser: the comparison and the unpooled variant's own report.
	browsertest.Check(t, browsertest.Open(t, filepath.Join(out, "compare.html"), "compare-pooling-strategies"), 3, false)
	browsertest.Check(t, browsertest.Open(t, filepath.Join(out, close.Dir, "report.html"), "report-http1-close"), 5, false)

	// natlab report renders every format again, the same bytes.
	before := map[string][]byte{}
	files := []string{"compare.md", "compare.html", "compare.json", filepath.Join(close.Dir, "report.html"),
		filepath.Join(close.Dir, "report.md"), filepath.Join(close.Dir, "samples.csv"), filepath.Join(close.Dir, "junit.xml")}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(out, f))
		require.NoError(t, err)
		before[f] = b
		require.NoError(t, os.Remove(filepath.Join(out, f)))
	}
	require.NoError(t, os.WriteFile(filepath.Join(out, "compare.json"), compareJSON, 0o644))
	code, stdout, stderr = run(t, "report", out)
	require.Equal(t, ExitPass, code, stdout+stderr)
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(out, f))
		require.NoError(t, err, "%s was not rendered again", f)
		if !bytes.Equal(before[f], got) {
			t.Errorf("%s differs after natlab report: %s", f, firstDiff(before[f], got))
		}
	}
}

// Gating: the exit code follows every variant, or only those --gate names;
// bad variants are refused before anything runs.
func TestCompareGateAndBadInput(t *testing.T) {
	requireRoot(t)
	sc := quick(t, "error_rate < 1%")
	vary := "assert[0].expect=error_rate < 1%,error_rate > 50%"
	code, stdout, stderr := run(t, "compare", sc, "--out", t.TempDir(), "--vary", vary)
	require.Equal(t, ExitFail, code, "one variant's assertion fails\n%s%s", stdout, stderr)
	out := t.TempDir()
	code, stdout, stderr = run(t, "compare", sc, "--out", out, "--vary", vary, "--gate", "expect=error_rate < 1%")
	require.Equal(t, ExitPass, code, "the gated variant passed\n%s%s", stdout, stderr)
	assert.Contains(t, stdout, "PASS: all 1 gated variants (expect=error_rate < 1%; 1 not gated) passed")
	c, err := reports.ReadComparison(filepath.Join(out, "compare.json"))
	require.NoError(t, err)
	assert.Equal(t, reports.VerdictPass, c.Verdict)
	assert.Equal(t, reports.VerdictFail, c.Variants[1].Verdict, "the other variant still failed, and shows it")
	assert.DirExists(t, filepath.Join(out, "01-expect-error_rate-1"))

	for _, bad := range [][]string{
		{"--vary", "phases[0].duration=2s,3s"}, // changes the schedule
		{"--vary", "phases[0].load.pool=none"}, // one variant only
		{"--vary", "phases[*].load.pool=none,keepalive", "--gate", "nope"},
		{"--variant", "x phases[0].load.pool=none"}, // no name
		{"--vary", "phases[0].load.rate=fast,slow"}, // bad values
	} {
		code, _, stderr := run(t, append([]string{"compare", sc, "--out", t.TempDir()}, bad...)...)
		assert.Equal(t, ExitInput, code, "%v: %s", bad, stderr)
	}
	_, _, stderr = run(t, "compare", sc, "--vary", "phases[0].duration=2s,3s")
	assert.Contains(t, stderr, "does not run on the schedule of duration=2s")
	code, _, stderr = run(t, "report", t.TempDir())
	assert.Equal(t, ExitInput, code)
	assert.Contains(t, stderr, "not a natlab run or comparison directory")
}

// firstDiff shows where two files part.
func firstDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-80)
	return fmt.Sprintf("at byte %d:\n  was %q\n  now %q", i, a[from:min(len(a), i+80)], b[from:min(len(b), i+80)])
}
