package reports

import (
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/natlab/natlab/loadgen"
	"github.com/stretchr/testify/require"
)

// stragglers adds n attempts to the peak phase and the totals that never
// ended, as an interrupted run has.
func stragglers(r *Report, n uint64) {
	for _, t := range []*Totals{&r.Phases[1].Counts, &r.Totals} {
		t.Attempts += n
		t.InFlight += n
	}
}

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
		// Accounting: attempts = outcomes + in flight, in flight only when
		// the run stopped early.
		{"in flight in a complete run", func(r *Report) { stragglers(r, 20) },
			"phase peak: check counts: 20 attempts still in flight in a finished run"},
		{"in flight in the totals of a complete run", func(r *Report) { stragglers(r, 20) }, "totals: check counts: 20 attempts still in flight"},
		{"in flight in an incomplete run", func(r *Report) {
			stragglers(r, 20)
			r.Verdict, r.Incomplete = VerdictIncomplete, "interrupted (SIGINT)"
		}, ""},
		{"attempt without an outcome", func(r *Report) { r.Phases[1].Counts.Attempts++; r.Totals.Attempts++ },
			"phase peak: check counts: attempts 2401 > outcomes 2400 + in flight 0"},
		{"attempt without an outcome in an incomplete run", func(r *Report) {
			r.Phases[1].Counts.Attempts++
			r.Totals.Attempts++
			r.Verdict, r.Incomplete = VerdictIncomplete, "interrupted (SIGINT)"
		}, "1 attempts neither ended nor in flight"},
		{"attempt with two outcomes", func(r *Report) {
			r.Phases[1].Counts.Outcomes[loadgen.OutcomeReset]++
			r.Phases[1].Counts.Errors++
			r.Totals.Outcomes[loadgen.OutcomeReset]++
			r.Totals.Errors++
		}, "phase peak: check counts: attempts 2400 < outcomes 2401 + in flight 0"},
		{"in flight hiding two outcomes", func(r *Report) {
			stragglers(r, 1)
			r.Totals.Outcomes[loadgen.OutcomeOK]++
			r.Totals.OK++
			r.Verdict, r.Incomplete = VerdictIncomplete, "interrupted (SIGINT)"
		}, "totals: check counts: attempts 3401 < outcomes 3401 + in flight 1"},
		{"wrapped in flight", func(r *Report) { r.Totals.InFlight = math.MaxUint64 - 1 }, "overflow"},
		{"ok unlike its outcome", func(r *Report) { r.Totals.OK-- }, "totals: ok 2789 but outcome ok 2790"},
		{"errors unlike the outcomes", func(r *Report) { r.Phases[0].Counts.Errors = 0 }, "phase offpeak: errors 0 but the outcomes other than ok sum to 10"},
		{"totals not the sum of the phases", func(r *Report) {
			r.Phases[0].Counts.Attempts--
			r.Phases[0].Counts.Outcomes[loadgen.OutcomeOK]--
			r.Phases[0].Counts.OK--
		}, "totals (3400 attempts, 0 in flight, outcomes map[ok:2790"},
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
