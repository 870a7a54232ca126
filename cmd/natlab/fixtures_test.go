package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/fixtures"
	"github.com/natlab/natlab/reports"
)

// Every built-in scenario `natlab list` shows runs end to end through the
// CLI, one after another, passes its own assertions, reverts and verifies
// every fault, and writes a run directory whose files agree with each
// other (checkRunDir). A new fixture is covered by being listed.
func TestFixturesEndToEnd(t *testing.T) {
	requireRoot(t)
	code, out, errOut := run(t, "list")
	require.Equal(t, ExitPass, code, errOut)
	names := listed(out)
	require.ElementsMatch(t, fixtures.Scenarios(), names, "natlab list shows every embedded fixture")
	assert.Contains(t, names, "nat-port-exhaustion", "the README's fixture")

	var times []string
	t.Cleanup(func() { t.Logf("wall time per fixture:\n%s", strings.Join(times, "\n")) })
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			var probe *natProbe
			if isFullScale(name) {
				// Without -race the counts are exact (64,512 and 1,488
				// in every run since the 8 s connect timeout): .ci/run
				// runs them in a step of their own, gating. While they
				// run, the test counts the NAT's table itself and holds
				// every sample to it (checkSampling).
				skipUnlessFullScale(t)
				probe = watchFullScale(t, "netns")
			}
			dir := t.TempDir()
			before := leftovers(t)
			start := time.Now()
			code, stdout, stderr := run(t, "run", name, "--out", dir)
			assert.Equal(t, before, leftovers(t), "natlab run %s left namespaces or run state behind", name)
			took := time.Since(start).Round(10 * time.Millisecond)
			times = append(times, "  "+name+": "+took.String())
			t.Logf("%s took %s", name, took)
			probe.check(t, dir)
			if code != ExitPass {
				logFailed(t, dir)
				t.Fatalf("natlab run %s exited %d, want %d\n%s%s", name, code, ExitPass, stdout, stderr)
			}
			assert.Contains(t, stdout, "PASS: all ")
			rep := checkRunDir(t, dir)
			assert.Equal(t, reports.VerdictPass, rep.Verdict)
			assert.Equal(t, name, rep.Scenario.Name)
			assert.NotEmpty(t, rep.Assertions, "a fixture judges its run")
			assert.Positive(t, rep.Totals.Attempts)
			// Every fixture plays in under 90 s (the full-scale ones'
			// figures are BenchmarkScale's: under 3 minutes start to report).
			assert.Less(t, rep.Duration.D(), 90*time.Second, "the fixture plays in under 90 s")
			for _, f := range rep.Faults {
				assert.NotNil(t, f.InjectedAt, "fault %s injected", f.Name)
				assert.NotNil(t, f.RevertedAt, "fault %s reverted", f.Name)
				assert.Empty(t, f.Error, "fault %s", f.Name)
				assert.Empty(t, f.VerifyError, "fault %s: the revert restores the recorded state", f.Name)
			}
			checkPreChange(t, name, dir, rep)
		})
	}
}

// dockerParity are the fixtures that also run end to end on the docker
// testbed: the UDP rendezvous set of incident 003 (its holepunch, probe
// and conntrack flush go through containers' own network stacks), the
// registrar it grew from, incident 002's zones, where every app host's
// agent is a process in its own container, restarted by the supervisor in
// place, with the zones' baseline and the single NAT's ip_forward=0, the
// live Cloud NAT change (its resets come from the NAT container's
// kernel), incident 001 with its fixes (the same exact figures: 1,024
// ok and 1,626 timeouts, each fix's failures gone; 28-38 s each on
// docker), and incident 000 as it happened with its rollback (the Cloud
// NAT change's resets in the NAT container's kernel, the app tier's 502s
// from its own containers). Every incident fixture is here but the
// full-scale ones.
var dockerParity = []string{
	"cloud-nat-remediation",
	"cloud-nat-remediation-rollback",
	"cloud-nat-separate-gateways",
	"cloud-nat-shared-contention",
	"holepunch-mapping-change",
	"holepunch-surge",
	"holepunch-surge-cause",
	"holepunch-surge-fixed",
	"ip-forward-flip",
	"ip-forward-flip-zone-a",
	"ip-forward-off",
	"nat-config-min-ports",
	"nat-port-exhaustion",
	"nat-port-exhaustion-more-ips",
	"nat-port-exhaustion-offpeak",
	"nat-port-exhaustion-pooled",
	"nat-port-exhaustion-short-time-wait",
	"registration-fail-closed",
	"zones-baseline",
}

// The docker parity set passes its own assertions on docker as on netns
// (TestFixturesEndToEnd), plays in under 90 s, and no container or
// network of a run survives it.
func TestFixturesOnDocker(t *testing.T) {
	requireDocker(t)
	for _, name := range append(dockerParity, fullScaleFixtures...) {
		t.Run(name, func(t *testing.T) {
			require.Contains(t, fixtures.Scenarios(), name)
			var probe *natProbe
			if isFullScale(name) {
				// The same exact counts as on netns (TestFixturesEndToEnd),
				// in the full-scale step of .ci/run.
				skipUnlessFullScale(t)
				probe = watchFullScale(t, "docker")
			}
			dir := t.TempDir()
			start := time.Now()
			code, stdout, stderr := run(t, "run", name, "--testbed", "docker", "--out", dir)
			t.Logf("%s on docker took %s", name, time.Since(start).Round(10*time.Millisecond))
			probe.check(t, dir)
			if code != ExitPass {
				logFailed(t, dir)
				t.Fatalf("natlab run %s --testbed docker exited %d, want %d\n%s%s", name, code, ExitPass, stdout, stderr)
			}
			rep := checkRunDir(t, dir)
			assert.Equal(t, reports.VerdictPass, rep.Verdict)
			assert.Equal(t, "docker", rep.Testbed.Backend)
			for _, f := range rep.Faults {
				assert.NotNil(t, f.RevertedAt, "fault %s reverted", f.Name)
				assert.Empty(t, f.Error, "fault %s", f.Name)
				assert.Empty(t, f.VerifyError, "fault %s", f.Name)
			}
			// The scenario plays in under 90 s; building and removing the
			// containers adds 10-40 s on a shared 2-CPU machine.
			assert.Less(t, rep.Duration.D(), 90*time.Second, "the fixture plays in under 90 s")
			assert.Empty(t, dockerLeftovers(t, rep.Testbed.RunID), "no container or network of the run may survive")
			checkPreChange(t, name, dir, rep)
			if strings.HasPrefix(name, "ip-forward-flip") {
				require.Len(t, rep.Apps, 2)
				a, b := rep.Apps[0], rep.Apps[1]
				// Each zone's two hosts restart once, in the same wave.
				assert.EqualValues(t, 2, a.Restarts)
				assert.Len(t, a.Restarted, 2)
				assert.Equal(t, 2, a.Serving, "zone A serves again by the end")
				if name == "ip-forward-flip" {
					assert.EqualValues(t, 2, b.Restarts)
				} else {
					assert.EqualValues(t, 0, b.Restarts, "zone B is never restarted")
					assert.Less(t, b.ErrorRate, 0.01, "zone B's callers see under 1% errors")
				}
			}
		})
	}
}

// preChangeWant is the pre-change reading of the incident 000 fixtures'
// Cloud NAT change, for the VM with the most: every workload VM's block
// full before the remediation (64 of 64), riskos's 80 connections in 256
// ports before the rollback.
var preChangeWant = map[string][2]int{
	"cloud-nat-remediation":          {64, 64},
	"cloud-nat-remediation-rollback": {80, 256},
}

// checkPreChange checks the pre-change check of the fixtures that change
// a Cloud NAT's config live: report.json has the NAT's reading before the
// change and resets observed == predicted (the rollback's figure varies
// from run to run, so its scenario can only bound it; here the two are
// compared), and report.md and report.html show the table.
func checkPreChange(t *testing.T, name, dir string, rep *reports.Report) {
	t.Helper()
	want, ok := preChangeWant[name]
	if !ok {
		return
	}
	require.Len(t, rep.Faults, 1)
	e := rep.Faults[0].Effects
	require.NotNil(t, e, "the nat-config fault's effects")
	require.NotNil(t, e.ObservedResets)
	assert.Equal(t, e.PredictedResets, *e.ObservedResets, "resets observed == predicted")
	require.NotNil(t, e.Before, "the pre-change reading")
	require.NotNil(t, e.Before.PortUsage)
	require.NotNil(t, e.Before.AllocatedPorts)
	assert.Equal(t, want, [2]int{*e.Before.PortUsage, *e.Before.AllocatedPorts}, "port_usage and allocated_ports before the change")
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	require.NoError(t, err)
	assert.Regexp(t, fmt.Sprintf(`\| %d / %d \([0-9.]+%%\) \| %d \| %d \| 0 \| 0 \|`, want[0], want[1], e.PredictedResets, *e.ObservedResets), string(md))
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	require.NoError(t, err)
	assert.Contains(t, string(html), fmt.Sprintf("<td>%d / %d (", want[0], want[1]))
}

// logFailed logs the figures of every assertion a run failed, when it got
// as far as writing its report.
func logFailed(t *testing.T, dir string) {
	t.Helper()
	rep, err := reports.Read(filepath.Join(dir, "report.json"))
	if errors.Is(err, os.ErrNotExist) {
		t.Log("no report.json was written")
		return
	}
	if err != nil {
		t.Logf("report.json: %v", err)
		return
	}
	t.Logf("verdict %s %s; totals %d attempts, %d ok, error rate %.4f, outcomes %v",
		rep.Verdict, rep.Incomplete, rep.Totals.Attempts, rep.Totals.OK, rep.Totals.ErrorRate, rep.Totals.Outcomes)
	for _, a := range rep.Assertions {
		if !a.Passed {
			t.Logf("FAILED %s (%s): observed %s, expected %s", a.Name, a.Source, a.Observed, a.Expected)
		}
	}
	for _, p := range rep.Phases {
		t.Logf("phase %s: %d attempts, %d ok, error rate %.4f, outcomes %v", p.Name, p.Counts.Attempts, p.Counts.OK, p.Counts.ErrorRate, p.Counts.Outcomes)
	}
	for _, n := range rep.NAT {
		t.Logf("nat %s: %+v", n.Name, n)
	}
	for _, f := range rep.Faults {
		t.Logf("fault %s: %+v", f.Name, f)
	}
}
