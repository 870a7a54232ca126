package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/reports"
	"github.com/natlab/natlab/testbed/netns"
)

// The fixtures of incident 002 run on the docker testbed as on netns
// (TestFixturesEndToEnd): every app host's agent is a process in its own
// container, restarted by the supervisor in place, and the run passes
// its own assertions in under 90 s and leaves no container or network.
func TestCascadeFixturesOnDocker(t *testing.T) {
	requireDocker(t)
	for _, name := range []string{"ip-forward-flip", "ip-forward-flip-zone-a"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			start := time.Now()
			code, stdout, stderr := run(t, "run", name, "--testbed", "docker", "--out", dir)
			took := time.Since(start)
			t.Logf("%s on docker took %s", name, took.Round(10*time.Millisecond))
			if code != ExitPass {
				logFailed(t, dir)
				t.Fatalf("natlab run %s --testbed docker exited %d, want %d\n%s%s", name, code, ExitPass, stdout, stderr)
			}
			rep := checkRunDir(t, dir)
			assert.Equal(t, "docker", rep.Testbed.Backend)
			assert.Less(t, took, 90*time.Second, "a fixture runs in under 90 s, testbed included")
			assert.Empty(t, dockerLeftovers(t, rep.Testbed.RunID), "nothing of the run is left")
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
		})
	}
}

// The gate takes a candidate per NAT: the bundled profile of incident 002
// as nat-a's candidate fails the two-zone baseline (exit 1) and the
// report names nat-a and the ip_forward line; the same change without
// that line passes; a candidate for a NAT the scenario lacks is bad input.
func TestNATSysctlsGatePerNAT(t *testing.T) {
	requireRoot(t)
	bundle := filepath.Join("..", "..", "fixtures", "sysctl", "somaxconn-bundle.conf")
	only := filepath.Join("..", "..", "fixtures", "sysctl", "somaxconn-only.conf")

	out := t.TempDir()
	code, stdout, stderr := run(t, "run", "zones-baseline", "--nat-sysctls", "nat-a="+bundle, "--out", out)
	require.Equal(t, ExitFail, code, stdout+stderr)
	rep, err := reports.Read(filepath.Join(out, "report.json"))
	require.NoError(t, err)
	assert.Equal(t, reports.VerdictFail, rep.Verdict)
	require.Len(t, rep.Candidates, 1, "the candidate went to nat-a only")
	c := rep.Candidates[0]
	assert.Equal(t, "nat-a", c.NAT)
	require.Len(t, c.Breaks, 1)
	assert.Contains(t, c.Breaks[0], "somaxconn-bundle.conf:6 sets net.ipv4.ip_forward = 0 on nat-a")
	assert.Positive(t, c.IPForwardOff.D())
	for _, n := range rep.NAT {
		if n.Name == "nat-b" {
			assert.Zero(t, n.IPForwardOff.D(), "nat-b kept forwarding")
		}
	}
	require.Len(t, rep.Apps, 2)
	assert.Equal(t, 1.0, rep.Apps[0].ErrorRate, "zone A's callers: every call fails")
	assert.Zero(t, rep.Apps[1].ErrorRate, "zone B's callers: none does")
	left, err := netns.Namespaces(rep.Testbed.RunID)
	require.NoError(t, err)
	assert.Empty(t, left, "no namespace of the run is left")
	md := readFile(t, filepath.Join(out, "report.md"))
	assert.Contains(t, md, "### Candidate sysctls")
	assert.Contains(t, md, "net.ipv4.ip\\_forward = 0 on nat-a")

	code, stdout, stderr = run(t, "run", "zones-baseline", "--nat-sysctls", "nat-a="+only, "--out", t.TempDir())
	require.Equal(t, ExitPass, code, stdout+stderr)

	code, _, stderr = run(t, "run", "zones-baseline", "--nat-sysctls", "nat-c="+only)
	assert.Equal(t, ExitInput, code)
	assert.Contains(t, stderr, `has no NAT "nat-c": its NATs are nat-a, nat-b`)
}
