package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/docker"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/reports"
)

// dockerLeftovers lists the containers and networks labelled with the run.
func dockerLeftovers(t testing.TB, runID string) []string {
	t.Helper()
	all, err := docker.Resources(context.Background(), runID)
	require.NoError(t, err)
	var out []string
	for _, r := range all {
		out = append(out, r.String())
	}
	return out
}

const dockerFaultScenario = `name: docker-interrupt
testbed:
  nat: {ips: 1, ports: 1024-2047}
  clients: {hosts: 1, addresses: 4}
  backends: [{name: api, protocol: http1, port: 8080}]
phases:
  - {name: before, duration: 3s, load: {strategy: http1, pool: none, rate: 20/s, connect_timeout: 1s, request_timeout: 1s}}
  - {name: outage, duration: 20s, load: {strategy: http1, pool: none, rate: 20/s, connect_timeout: 1s, request_timeout: 1s}}
faults:
  - {name: forwarding-off, at: 3s, for: 15s, kind: sysctl, host: nat, set: {net.ipv4.ip_forward: 0}}
assert:
  - phase: before
    expect: error_rate < 1%
`

// SIGINT in the middle of a fault on the docker backend, through the CLI:
// as on netns (TestInterruptMidFault) the fault is reverted and verified,
// the report is marked incomplete and agrees with its other files, the
// exit code is 1, and no container or network of the run is left.
func TestInterruptMidFaultOnDocker(t *testing.T) {
	requireDocker(t)
	out := t.TempDir()
	p := writeScenario(t, dockerFaultScenario)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), cliEnv+"=run\x1f"+p+"\x1f--testbed\x1fdocker\x1f--out\x1f"+out)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	// The run may first build the static binary of its agent image.
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var runID string
	idRe := regexp.MustCompile(`\(run ([0-9a-f]+)\)`)
	deadline := time.After(5 * time.Minute)
wait:
	for {
		select {
		case line, ok := <-lines:
			require.True(t, ok, "natlab run ended before the fault was injected")
			if m := idRe.FindStringSubmatch(line); m != nil {
				runID = m[1]
			}
			if strings.Contains(line, "inject forwarding-off") {
				break wait
			}
		case <-deadline:
			t.Fatal("the fault was not injected within 5 minutes")
		}
	}
	require.NotEmpty(t, runID)
	t.Cleanup(func() {
		if left := dockerLeftovers(t, runID); len(left) > 0 {
			_, _ = docker.New(docker.Options{}).Clean(context.Background(), runID) // the assertions below have failed already
		}
	})
	require.NotEmpty(t, dockerLeftovers(t, runID), "the run's containers are up")
	time.Sleep(2500 * time.Millisecond) // mid-fault: attempts made during it have timed out
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	go func() {
		for range lines {
		}
	}()
	err = cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, ExitFail, ee.ExitCode())

	rep := checkRunDir(t, out)
	assert.Equal(t, "docker", rep.Testbed.Backend)
	assert.Equal(t, runID, rep.Testbed.RunID)
	assert.Equal(t, reports.VerdictIncomplete, rep.Verdict)
	assert.Contains(t, rep.Incomplete, "interrupted")
	assert.Positive(t, rep.Totals.Attempts, "the loads stopped early still report what they did")
	assert.Positive(t, rep.Totals.Outcomes[loadgen.OutcomeConnectTimeout], "forwarding was off: %v", rep.Totals.Outcomes)
	require.Len(t, rep.Faults, 1)
	f := rep.Faults[0]
	assert.NotNil(t, f.InjectedAt)
	assert.NotNil(t, f.RevertedAt, "the fault must be reverted on Ctrl-C")
	assert.Empty(t, f.Error)
	assert.Empty(t, f.VerifyError, "the revert must restore the recorded state")
	if f.InjectedAt != nil && f.RevertedAt != nil {
		assert.Less(t, f.RevertedAt.Sub(*f.InjectedAt), 10*time.Second, "reverted at the interrupt, not at the end of its 15s")
	}

	assert.Empty(t, dockerLeftovers(t, runID), "no container or network of the run may survive")
	_, err = os.Stat(filepath.Join(docker.DefaultRuntimeDir(), runID))
	assert.ErrorIs(t, err, os.ErrNotExist, "the run's socket directory is removed")
}
