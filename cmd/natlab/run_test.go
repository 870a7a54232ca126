package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/docker"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/reports"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/netns"
	tt "github.com/natlab/natlab/testbed/testbedtest"
)

// writeScenario writes a scenario file into a temp dir.
func writeScenario(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s.yaml")
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	return p
}

const quickScenario = `name: quick
testbed:
  nat: {ips: 1, ports: 1024-2047}
  clients: {hosts: 1, addresses: 4}
  backends: [{name: api, protocol: http1, port: 8080}]
phases:
  - {name: steady, duration: 2s, load: {strategy: http1, pool: keepalive, pool_size: 4, rate: 50/s}}
assert:
  - expect: %s
`

func quick(t *testing.T, expect string) string {
	return writeScenario(t, strings.Replace(quickScenario, "%s", expect, 1))
}

// The exit codes are the contract CI gates on: 0 pass, 1 fail, 2 bad
// input, 3 environment.
func TestRunExitCodes(t *testing.T) {
	requireRoot(t)
	t.Run("pass", func(t *testing.T) {
		out := t.TempDir()
		code, stdout, stderr := run(t, "run", quick(t, "error_rate < 1%"), "--out", out, "--set", "phases[0].duration=3s")
		require.Equal(t, ExitPass, code, stdout+stderr)
		assert.Contains(t, stdout, "phase steady (3s)", "--set overrides the file")
		assert.Contains(t, stdout, "PASS: all 1 assertions held")
		rep := checkRunDir(t, out)
		assert.Equal(t, reports.VerdictPass, rep.Verdict)
		// 50/s for the 3 s --set gives: an open schedule sends exactly that.
		assert.Equal(t, uint64(150), rep.Totals.Attempts)
		assert.Equal(t, rep.Totals.Attempts, rep.Totals.OK)
	})
	t.Run("fail", func(t *testing.T) {
		out := t.TempDir()
		code, stdout, stderr := run(t, "run", quick(t, "error_rate > 50%"), "--out", out, "--junit", filepath.Join(out, "copy.xml"))
		require.Equal(t, ExitFail, code, stdout+stderr)
		assert.Contains(t, stdout, "FAIL: 1 of 1 assertions failed")
		rep := checkRunDir(t, out)
		assert.Equal(t, reports.VerdictFail, rep.Verdict)
		// The run did its work and the assertion judged it: a run that
		// attempted nothing, or broke, must not pass for this failure.
		assert.Empty(t, rep.Incomplete)
		assert.Equal(t, uint64(100), rep.Totals.Attempts, "50/s for 2 s")
		assert.Equal(t, rep.Totals.Attempts, rep.Totals.OK)
		require.Len(t, rep.Assertions, 1)
		assert.False(t, rep.Assertions[0].Passed)
		assert.Equal(t, "0%", rep.Assertions[0].Observed, "no error, so error_rate > 50%% fails")
		junit, err := os.ReadFile(filepath.Join(out, "copy.xml"))
		require.NoError(t, err)
		assert.Equal(t, readFile(t, filepath.Join(out, "junit.xml")), string(junit), "--junit writes the same file")
	})
	t.Run("bad input", func(t *testing.T) {
		p := writeScenario(t, "name: bad\nphases:\n  - {name: p, duration: soon}\n")
		code, _, stderr := run(t, "run", p)
		require.Equal(t, ExitInput, code, stderr)
		assert.Regexp(t, regexp.QuoteMeta(p)+`:\d+:\d+: `, stderr)
		code, _, stderr = run(t, "run", "no-such-fixture")
		assert.Equal(t, ExitInput, code)
		assert.Contains(t, stderr, "natlab list")
		code, _, _ = run(t, "run", quick(t, "error_rate < 1%"), "--testbed", "vmware")
		assert.Equal(t, ExitInput, code)
		code, _, stderr = run(t, "run", quick(t, "error_rate < 1%"), "--set", "phases[3].duration=1s")
		assert.Equal(t, ExitInput, code)
		assert.Contains(t, stderr, "out of range")
	})
	t.Run("environment", func(t *testing.T) {
		// nf_conntrack_max exists on this kernel but is read-only inside a
		// non-initial namespace: only the kernel can tell, at run time.
		p := writeScenario(t, strings.Replace(strings.Replace(quickScenario, "%s", "error_rate < 1%", 1),
			"ports: 1024-2047}", "ports: 1024-2047, sysctls: {net.netfilter.nf_conntrack_max: 1000}}", 1))
		code, stdout, stderr := run(t, "run", p, "--out", t.TempDir())
		require.Equal(t, ExitEnviron, code, stdout+stderr)
		assert.Contains(t, stderr, "nf_conntrack_max")
	})
}

// A candidate sysctl.conf that turns forwarding off fails a scenario that
// passes without it: how a NAT config change is gated in CI.
func TestNATSysctlsGate(t *testing.T) {
	requireRoot(t)
	code, stdout, stderr := run(t, "run", "egress-baseline", "--out", t.TempDir())
	require.Equal(t, ExitPass, code, stdout+stderr)

	candidate := filepath.Join(t.TempDir(), "candidate.conf")
	require.NoError(t, os.WriteFile(candidate, []byte("# hardening defaults\nnet.core.somaxconn = 4096\nnet.ipv4.ip_forward = 0\n"), 0o644))
	out := t.TempDir()
	code, stdout, stderr = run(t, "run", "egress-baseline", "--nat-sysctls", candidate, "--out", out)
	require.Equal(t, ExitFail, code, stdout+stderr)
	rep, err := reports.Read(filepath.Join(out, "report.json"))
	require.NoError(t, err)
	assert.Equal(t, reports.VerdictFail, rep.Verdict)
	assert.Greater(t, rep.NAT[0].IPForwardOff.D(), time.Duration(0), "the report shows forwarding was off")

	bad := filepath.Join(t.TempDir(), "bad.conf")
	require.NoError(t, os.WriteFile(bad, []byte("kernel.pid_max = 10\n"), 0o644))
	code, _, stderr = run(t, "run", "egress-baseline", "--nat-sysctls", bad)
	assert.Equal(t, ExitInput, code)
	assert.Contains(t, stderr, bad+":1:")
}

// cliEnv makes the test binary act as the natlab command.
const cliEnv = "NATLAB_TEST_CLI"

// SIGINT in the middle of a fault reverts it, tears the testbed down and
// writes a report marked incomplete; nothing of the run survives.
func TestInterruptMidFault(t *testing.T) {
	requireRoot(t)
	fwdBefore, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	require.NoError(t, err)
	out := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), cliEnv+"=run\x1fip-forward-off\x1f--out\x1f"+out)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())

	var runID string
	sc := bufio.NewScanner(stdout)
	idRe := regexp.MustCompile(`\(run ([0-9a-f]+)\)`)
	for sc.Scan() {
		line := sc.Text()
		if m := idRe.FindStringSubmatch(line); m != nil {
			runID = m[1]
		}
		if strings.Contains(line, "inject forwarding-off") {
			break
		}
	}
	require.NotEmpty(t, runID)
	// Mid-fault: once a connect stalls behind the NAT (a socket of the
	// client agent's namespace in SYN_SENT), not after a sleep; that
	// attempt is in flight when the signal comes.
	tt.WaitFor(t, time.Minute, func() bool { return synSent(t, runID) > 0 }, "a connect stalled by forwarding off")
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	go func() {
		for sc.Scan() {
		}
	}()
	err = cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, ExitFail, ee.ExitCode())

	rep, err := reports.Read(filepath.Join(out, "report.json"))
	require.NoError(t, err)
	assert.Equal(t, reports.VerdictIncomplete, rep.Verdict)
	assert.Contains(t, rep.Incomplete, "interrupted")
	assert.Positive(t, rep.Totals.Attempts, "the loads stopped early still report what they did")
	var ended uint64
	for _, n := range rep.Totals.Outcomes {
		ended += n
	}
	assert.Equal(t, rep.Totals.Attempts, ended+rep.Totals.InFlight, "every attempt is accounted for")
	assert.Positive(t, rep.Totals.Outcomes[loadgen.OutcomeCancelled], "attempts cut off end as cancelled")
	require.Len(t, rep.Faults, 1)
	assert.NotNil(t, rep.Faults[0].RevertedAt, "the fault must be reverted on Ctrl-C")
	assert.Empty(t, rep.Faults[0].VerifyError, "the revert must restore the recorded state")

	left, err := netns.Namespaces(runID)
	require.NoError(t, err)
	assert.Empty(t, left, "no namespace (and so no veth, rule or namespaced sysctl) may survive")
	assert.Empty(t, agentsOf(t, runID))
	fwdAfter, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	require.NoError(t, err)
	assert.Equal(t, string(fwdBefore), string(fwdAfter), "the host's own sysctls are never touched")
}

// synSent counts the sockets in SYN_SENT in the network namespaces of run
// id's agents (as /proc/PID/net/tcp of each shows its namespace's).
func synSent(t *testing.T, id string) int {
	t.Helper()
	n := 0
	for _, pid := range agentsOf(t, id) {
		raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "net", "tcp"))
		if err != nil {
			continue // the agent is gone
		}
		for _, line := range strings.Split(string(raw), "\n")[1:] {
			if f := strings.Fields(line); len(f) > 3 && f[3] == "02" {
				n++
			}
		}
	}
	return n
}

// The same scenario contract holds on the docker backend: containers from a
// FROM scratch image of natlab itself, the NAT exhausting at 256 ports.
func TestRunOnDocker(t *testing.T) {
	requireDocker(t)
	out := t.TempDir()
	p := writeScenario(t, `name: docker-storm
testbed:
  nat: {ips: 1, ports: 1024-1279}
  clients: {hosts: 1, addresses: 4}
  backends: [{name: api, protocol: http1, port: 8080}]
phases:
  - {name: steady, duration: 2s, load: {strategy: http1, pool: none, rate: 50/s}}
  - {name: cut, duration: 3s, load: {strategy: http1, pool: none, rate: 50/s, connect_timeout: 1s}}
  - {name: storm, duration: 3s, load: {strategy: http1, hold: 300, connect_timeout: 1s}}
faults:
  - {name: blackhole-api, at: 2500ms, for: 1s, kind: drop, host: nat, blackhole: api}
assert:
  - phase: steady
    expect: error_rate < 1%
  - phase: cut
    expect: outcomes.connect_timeout > 10
  - phase: storm
    expect: outcomes.connect_timeout == 44
  - phase: storm
    expect: nat.allocation_failures > 0
`)
	code, stdout, stderr := run(t, "run", p, "--testbed", "docker", "--out", out)
	require.Equal(t, ExitPass, code, stdout+stderr)
	rep, err := reports.Read(filepath.Join(out, "report.json"))
	require.NoError(t, err)
	assert.Equal(t, "docker", rep.Testbed.Backend)
	require.Len(t, rep.Faults, 1)
	assert.NotNil(t, rep.Faults[0].RevertedAt, "the drop fault works through the agent on docker too")
	assert.Empty(t, rep.Faults[0].VerifyError)
	left, err := exec.Command("docker", "ps", "-aq", "--filter", "label=natlab.run="+rep.Testbed.RunID).Output()
	require.NoError(t, err)
	assert.Empty(t, strings.TrimSpace(string(left)), "no container of the run may remain")
}

// up keeps a testbed up and says how to enter each host; down from another
// process tears it down in order.
func TestUpAndDown(t *testing.T) {
	requireRoot(t)
	runID := upAndDown(t, "up\x1fegress-baseline", func(runID string, enter []string) {
		assert.Contains(t, strings.Join(enter, "\n"), "ip netns exec natlab-"+runID+"-nat bash")
		names, err := netns.Namespaces(runID)
		require.NoError(t, err)
		require.Len(t, names, 4)
	})
	left, err := netns.Namespaces(runID)
	require.NoError(t, err)
	assert.Empty(t, left)
}

// up honours --testbed: a docker testbed is kept up the same way and down
// removes every container and network of it, its runtime directory and
// its state.
func TestUpAndDownOnDocker(t *testing.T) {
	requireDocker(t)
	runID := upAndDown(t, "up\x1f--testbed\x1fdocker\x1f"+quick(t, "error_rate < 1%"), func(runID string, enter []string) {
		assert.Contains(t, strings.Join(enter, "\n"), "nsenter -n -t $(docker inspect -f '{{.State.Pid}}' natlab-"+runID+"-nat) bash")
		made, err := docker.Resources(context.Background(), runID)
		require.NoError(t, err)
		assert.Len(t, made, 5, "3 containers and 2 networks")
	})
	left, err := docker.Resources(context.Background(), runID)
	require.NoError(t, err)
	assert.Empty(t, left, "no container or network of the run may remain")
	_, err = os.Stat(filepath.Join(docker.DefaultRuntimeDir(), runID))
	assert.ErrorIs(t, err, os.ErrNotExist, "the run's runtime directory is removed")
}

// upAndDown runs `natlab up` (args joined by \x1f) in another process
// until the testbed is up, brings it down with `natlab down RUN` and
// checks that up exited cleanly, the run's state is gone and a second down
// finds no run. whileUp sees the testbed up, with the lines saying how to
// enter each host. It returns the run id.
func upAndDown(t *testing.T, args string, whileUp func(runID string, enter []string)) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), cliEnv+"="+args)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var runID string
	var enter []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if m := regexp.MustCompile(`^testbed ([0-9a-f]+) is up`).FindStringSubmatch(line); m != nil {
			runID = m[1]
		}
		if strings.Contains(line, " bash ") {
			enter = append(enter, line)
		}
		if strings.Contains(line, "keeps it up") {
			break
		}
	}
	require.NotEmpty(t, runID, "up did not bring the testbed up")
	require.Len(t, enter, 3, "nat, client and backend, each with how to enter it")
	state := filepath.Join(testbed.StateDir, runID+".json")
	require.FileExists(t, state)
	whileUp(runID, enter)

	code, out, errOut := run(t, "down", runID)
	require.Equal(t, ExitPass, code, errOut)
	assert.Contains(t, out, "run "+runID+" is down")
	go func() {
		for sc.Scan() {
		}
	}()
	require.NoError(t, cmd.Wait(), "up exits cleanly when brought down")
	assert.NoFileExists(t, state)

	code, _, errOut = run(t, "down", runID)
	assert.Equal(t, ExitInput, code)
	assert.Contains(t, errOut, "no run")
	return runID
}
