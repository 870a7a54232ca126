package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/reports"
)

// The gate's files (testdata/natconfig): a scenario that passes with the
// deployed Cloud NAT's 128 ports a VM (nat.tf) and the same NAT with
// min_ports_per_vm lowered to 64, in each form --nat-config reads.
const (
	gateScenario = "testdata/natconfig/cloud-nat-gate.yaml"
	gateDir      = "testdata/natconfig/"
)

// lowered is the one change every lowered candidate makes.
var lowered = []reports.NATSettingChange{{NAT: "nat", Setting: "min_ports_per_vm", Before: "128", After: "64"}}

// gateFails runs the gate with candidate and checks that it fails as the
// kernel makes it: each of the two VMs gets a block of 64 ports for its 80
// connections, so 128 connect and the 32 beyond the blocks time out (exact:
// the OUT_OF_RESOURCES drop is a ct count check per VM and destination;
// TestRunCloudNATScenario shows the same figures). The report names the
// change in report.json, report.md and junit.xml.
func gateFails(t *testing.T, candidate, form, resource string, extra ...string) {
	t.Helper()
	out := t.TempDir()
	args := append([]string{"run", gateScenario, "--nat-config", candidate, "--out", out, "--junit", filepath.Join(out, "gate-junit.xml")}, extra...)
	code, stdout, stderr := run(t, args...)
	require.Equal(t, ExitFail, code, stdout+stderr)
	assert.Contains(t, stdout, "nat min_ports_per_vm: 128 -> 64")
	assert.Contains(t, stdout, "FAIL: 3 of 3 assertions failed")
	rep, err := reports.Read(filepath.Join(out, "report.json"))
	require.NoError(t, err)
	assert.Equal(t, reports.VerdictFail, rep.Verdict)
	require.NotNil(t, rep.NATConfig)
	assert.Equal(t, candidate, rep.NATConfig.File)
	assert.Equal(t, form, rep.NATConfig.Form)
	assert.Equal(t, resource, rep.NATConfig.Resource)
	assert.Equal(t, lowered, rep.NATConfig.Changes)
	require.Len(t, rep.Assertions, 3)
	assert.Equal(t, "128", rep.Assertions[0].Observed, "ok of 160 with 64 ports for each of 2 VMs")
	assert.Equal(t, "32", rep.Assertions[1].Observed, "connect timeouts: the 16 connections of each VM beyond its block")
	assert.False(t, rep.Assertions[2].Passed, "OUT_OF_RESOURCES drops: %s", rep.Assertions[2].Observed)

	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "| nat | `min_ports_per_vm` | 128 | 64 |")
	junit, err := os.ReadFile(filepath.Join(out, "gate-junit.xml"))
	require.NoError(t, err)
	assert.Contains(t, string(junit), `<property name="nat_config_changes" value="nat min_ports_per_vm 128 -&gt; 64"></property>`)
}

// A .tf file whose min_ports_per_vm was lowered fails a scenario that the
// deployed file passes; the report names the change, and what natlab does
// not model is warned of, never dropped silently. A file natlab cannot
// resolve is bad input at its line, before anything is built.
func TestNATConfigGateTerraform(t *testing.T) {
	requireRoot(t)
	out := t.TempDir()
	code, stdout, stderr := run(t, "run", gateScenario, "--nat-config", gateDir+"nat.tf", "--out", out)
	require.Equal(t, ExitPass, code, stdout+stderr)
	assert.Contains(t, stdout, "NAT config testdata/natconfig/nat.tf (google_compute_router_nat.nat): no setting differs from the scenario's")
	assert.Contains(t, stdout, "PASS: all 3 assertions held")
	assert.Contains(t, stderr, "natlab: warning: --nat-config ignores log_config (testdata/natconfig/nat.tf:26): logging is not modelled")
	rep, err := reports.Read(filepath.Join(out, "report.json"))
	require.NoError(t, err)
	require.NotNil(t, rep.NATConfig)
	assert.Empty(t, rep.NATConfig.Changes)
	// MANUAL_ONLY with nat_ips and ALL_SUBNETWORKS_ALL_IP_RANGES are what
	// natlab does: only log_config is not modelled.
	assert.Len(t, rep.NATConfig.Ignored, 1)

	gateFails(t, gateDir+"nat-lowered.tf", "terraform", "google_compute_router_nat.nat")

	code, stdout, stderr = run(t, "run", gateScenario, "--nat-config", gateDir+"nat-unresolved.tf", "--out", t.TempDir())
	require.Equal(t, ExitInput, code, stdout+stderr)
	assert.Contains(t, stderr, "testdata/natconfig/nat-unresolved.tf:22:40: google_compute_router_nat.nat.min_ports_per_vm: variable \"min_ports_per_vm\" has no default")
	assert.NotContains(t, stdout, "building the testbed")
}

// The JSON of terraform show -json for the same change gates the same way.
func TestNATConfigGatePlan(t *testing.T) {
	requireRoot(t)
	gateFails(t, gateDir+"plan-lowered.json", "plan", "google_compute_router_nat.nat")
}

// So does the change as a NAT block in natlab's YAML.
func TestNATConfigGateYAML(t *testing.T) {
	requireRoot(t)
	gateFails(t, gateDir+"nat-lowered.yaml", "yaml", "")
}

// The same gate on the docker testbed: the deployed file passes, the
// lowered one fails with the same figures.
func TestNATConfigGateOnDocker(t *testing.T) {
	requireDocker(t)
	code, stdout, stderr := run(t, "run", gateScenario, "--nat-config", gateDir+"nat.tf", "--testbed", "docker", "--out", t.TempDir())
	require.Equal(t, ExitPass, code, stdout+stderr)
	assert.Contains(t, stdout, "PASS: all 3 assertions held")
	gateFails(t, gateDir+"nat-lowered.tf", "terraform", "google_compute_router_nat.nat", "--testbed", "docker")
}

// validate checks a candidate as run would, without root: the change is
// shown, and what cannot be resolved is exit 2 at its line, as are a
// candidate's bad values (at the candidate, not the scenario), a varied
// profile key the candidate would replace, and a --nat-config-resource
// without --nat-config.
func TestValidateNATConfig(t *testing.T) {
	code, stdout, stderr := run(t, "validate", gateScenario, "--nat-config", gateDir+"nat-lowered.tf")
	require.Equal(t, ExitPass, code, stdout+stderr)
	assert.Contains(t, stdout, "nat min_ports_per_vm: 128 -> 64")

	code, _, stderr = run(t, "validate", gateScenario, "--nat-config", gateDir+"nat-unresolved.tf")
	assert.Equal(t, ExitInput, code)
	assert.Contains(t, stderr, "testdata/natconfig/nat-unresolved.tf:22:40: ")

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("enable_dynamic_port_allocation: true\nmin_ports_per_vm: 48\n"), 0o644))
	code, _, stderr = run(t, "validate", gateScenario, "--nat-config", bad)
	assert.Equal(t, ExitInput, code)
	assert.Contains(t, stderr, bad+":2:19: testbed.nat.min_ports_per_vm: 48: with enable_dynamic_port_allocation, min_ports_per_vm must be a power of two")

	// compare reads the candidate for every variant, before building any.
	code, _, stderr = run(t, "compare", gateScenario, "--vary", "phases[*].duration=1s,2s", "--nat-config", gateDir+"nat-unresolved.tf")
	assert.Equal(t, ExitInput, code)
	assert.Contains(t, stderr, "testdata/natconfig/nat-unresolved.tf:22:40: ")
	code, _, stderr = run(t, "compare", gateScenario, "--vary", "testbed.nat.min_ports_per_vm=64,128", "--nat-config", gateDir+"nat.tf")
	assert.Equal(t, ExitInput, code)
	assert.Contains(t, stderr, "--set testbed.nat.min_ports_per_vm=64: --nat-config testdata/natconfig/nat.tf replaces the NAT's min_ports_per_vm: set it in the candidate instead")

	// An aws_nat_gateway is profile aws-nat-gateway: on a NAT gateway
	// scenario the candidate changes what the resource says (nat_ips is
	// the primary and its secondaries) and the defaults of what it leaves
	// out (the idle timeout is AWS's 350 s).
	aws := filepath.Join(t.TempDir(), "aws.tf")
	require.NoError(t, os.WriteFile(aws, []byte("resource \"aws_nat_gateway\" \"egress\" {\n  secondary_allocation_ids = [aws_eip.b.id]\n}\n"), 0o644))
	code, stdout, stderr = run(t, "validate", "aws-nat-gateway-idle-timeout", "--nat-config", aws)
	require.Equal(t, ExitPass, code, stderr)
	assert.Contains(t, stdout+stderr, "nat nat_ips: 1 -> 2")
	assert.Contains(t, stdout+stderr, "nat idle_timeout_sec: 3 -> 350")

	code, _, stderr = run(t, "validate", gateScenario, "--nat-config-resource", "google_compute_router_nat.nat")
	assert.Equal(t, ExitInput, code)
	assert.True(t, strings.Contains(stderr, "--nat-config-resource google_compute_router_nat.nat: give the file it is in with --nat-config"), stderr)
}
