package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/reports"
	"github.com/natlab/natlab/testbed/netns"
)

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
