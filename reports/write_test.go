package reports

import (
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWriteAllFormats(t *testing.T) {
	require.Equal(t, []string{"json", "csv", "md", "html", "junit"}, Formats())
	dir := filepath.Join(t.TempDir(), "run-1") // created by Write
	require.NoError(t, Write(dir, fixture()))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		info, err := e.Info()
		require.NoError(t, err)
		require.NotZero(t, info.Size(), e.Name())
		require.Equal(t, os.FileMode(0o644), info.Mode().Perm(), e.Name())
	}
	sort.Strings(names)
	// No temporary files are left behind.
	require.Equal(t, []string{"junit.xml", "report.html", "report.json", "report.md", "samples.csv"}, names)
}

func TestWriteChosenFormats(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, Write(dir, fixture(), "md", "junit", "md"))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 2)
	_, err = os.Stat(filepath.Join(dir, "report.md"))
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(dir, "junit.xml"))
	require.NoError(t, err)
}

// A bad format name or a bad report writes nothing.
func TestWriteRefuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	err := Write(dir, fixture(), "md", "pdf")
	require.ErrorContains(t, err, `unknown report format "pdf"`)
	bad := fixture()
	bad.Verdict = "maybe"
	require.ErrorContains(t, Write(dir, bad), `verdict "maybe"`)
	require.ErrorContains(t, Write(dir, nil), "no report")
	_, err = os.Stat(dir)
	require.True(t, os.IsNotExist(err), "nothing written")
	_, err = FileName("pdf")
	require.Error(t, err)
	_, err = renderString(fixture(), "pdf")
	require.Error(t, err)
}

// Rewriting a run directory replaces the files whole.
func TestWriteReplaces(t *testing.T) {
	dir := t.TempDir()
	r := fixture()
	require.NoError(t, Write(dir, r, "md"))
	r.Scenario.Name = "second-run"
	require.NoError(t, Write(dir, r, "md"))
	b, err := os.ReadFile(filepath.Join(dir, "report.md"))
	require.NoError(t, err)
	require.Contains(t, string(b), "## natlab second-run: FAIL")
	require.NotContains(t, string(b), "nat-port-exhaustion: FAIL")
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(r *Report)
		want   string
	}{
		{"ok", func(r *Report) {}, ""},
		{"no scenario name", func(r *Report) { r.Scenario.Name = "" }, "scenario name is empty"},
		{"unknown verdict", func(r *Report) { r.Verdict = "" }, "not one of pass, fail, incomplete"},
		{"pass with a failed assertion", func(r *Report) { r.Verdict = VerdictPass }, "verdict pass but 1 assertions failed"},
		{"incomplete without reason", func(r *Report) { r.Verdict = VerdictIncomplete }, "needs a reason"},
		{"fail but interrupted", func(r *Report) { r.Incomplete = "interrupted" }, "use verdict incomplete"},
		{"negative duration", func(r *Report) { r.Duration = -1 }, "negative"},
		{"revert before inject", func(r *Report) { r.Faults[0].RevertedAt = atp(1) }, "reverted before it was injected"},
		{"revert without inject", func(r *Report) { r.Faults[0].InjectedAt = nil }, "reverted but never injected"},
		{"NaN utilization", func(r *Report) {
			r.Samples[3].NAT["nat"] = NATSample{PortUtilization: math.NaN()}
		}, "sample 3 nat.nat.port_utilization is NaN"},
		{"infinite rate", func(r *Report) { r.Samples[0].OKPerSec = math.Inf(1) }, "sample 0 ok_per_s is +Inf"},
		{"incomplete", func(r *Report) { r.Verdict, r.Incomplete = VerdictIncomplete, "interrupted (SIGINT)" }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fixture()
			tc.mutate(r)
			err := r.Validate()
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
}
