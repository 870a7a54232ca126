package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/reports"
	"github.com/natlab/natlab/scenario/runner"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/netns"
)

// interruptScenario is short: a fault cuts forwarding in its second
// phase, and a harmless one stays until the end, so that the cleanup
// after the last phase has a fault of its own to revert.
const interruptScenario = `name: interrupt
tick: 500ms
testbed:
  nat: {ips: 1, ports: 1024-2047}
  clients: {hosts: 1, addresses: 4}
  backends: [{name: api, protocol: http1, port: 8080}]
phases:
  - {name: before, duration: 1s, load: {strategy: http1, pool: none, rate: 50/s, connect_timeout: 1s, request_timeout: 1s}}
  - {name: outage, duration: 2s, load: {strategy: http1, pool: none, rate: 50/s, connect_timeout: 1s, request_timeout: 1s}}
faults:
  - {name: forwarding-off, at: 1s, for: 1s, kind: sysctl, host: nat, set: {net.ipv4.ip_forward: 0}}
  - {name: backlog, at: 100ms, kind: sysctl, host: nat, set: {net.core.somaxconn: 1024}}
assert:
  - phase: before
    expect: error_rate < 50%
`

// exitWithin is how soon after the first Ctrl-C natlab must be gone.
const exitWithin = 10 * time.Second

// Ctrl-C in a real terminal, where the progress is an mpb bar (the bar
// once kept the process alive for ever after the cleanup), at every stage
// of a run: natlab exits 1 within 10 s, the faults are reverted, the
// report says what it is, and nothing of the run is left.
func TestInterruptInATerminal(t *testing.T) {
	requireRoot(t)
	bin := buildNatlab(t)
	scenarioFile := writeScenario(t, interruptScenario)

	t.Run("setup", func(t *testing.T) {
		out := t.TempDir()
		r := startInTerminal(t, bin, "run", scenarioFile, "--out", out)
		r.waitFor(t, regexp.MustCompile(`building the testbed`))
		r.ctrlC(t)
		r.requireExit(t, ExitFail)
		r.waitFor(t, regexp.MustCompile(`interrupted: stopping the run`))
		r.requireNothingLeft(t)
		// Usually the testbed was not up yet and no run began; a Ctrl-C
		// landing just as it came up interrupts the run at its start.
		if rep, err := reports.Read(filepath.Join(out, "report.json")); err == nil {
			t.Log("the testbed was up before the interrupt took effect")
			assert.Equal(t, reports.VerdictIncomplete, rep.Verdict)
		} else {
			require.ErrorIs(t, err, os.ErrNotExist)
			r.waitFor(t, regexp.MustCompile(`interrupted while building the testbed`))
		}
	})

	// natlab up keeps a testbed until Ctrl-C; Ctrl-C in its terminal tears
	// it down with the same interrupts as run, and exits 0 (up ran as
	// asked).
	t.Run("up", func(t *testing.T) {
		r := startInTerminal(t, bin, "up", scenarioFile)
		r.waitFor(t, regexp.MustCompile(`keeps it up until Ctrl-C`))
		runID := r.waitFor(t, regexp.MustCompile(`testbed ([0-9a-f]+) is up`))[1]
		names, err := netns.Namespaces(runID)
		require.NoError(t, err)
		assert.Len(t, names, 4, "the testbed is up while natlab up waits")
		r.ctrlC(t)
		r.requireExit(t, ExitPass)
		r.waitFor(t, regexp.MustCompile(`interrupted: `))
		r.waitFor(t, regexp.MustCompile(`tearing down run `+runID))
		r.requireNothingLeft(t)
	})

	t.Run("fault", func(t *testing.T) {
		out := t.TempDir()
		r := startInTerminal(t, bin, "run", scenarioFile, "--out", out)
		r.waitFor(t, regexp.MustCompile(`inject forwarding-off`))
		r.ctrlC(t)
		r.requireExit(t, ExitFail)
		r.waitFor(t, regexp.MustCompile(`INCOMPLETE: interrupted`))
		r.requireNothingLeft(t)

		rep, err := reports.Read(filepath.Join(out, "report.json"))
		require.NoError(t, err)
		assert.Equal(t, reports.VerdictIncomplete, rep.Verdict)
		assert.Contains(t, rep.Incomplete, "interrupted")
		require.Len(t, rep.Faults, 2)
		for _, f := range rep.Faults {
			assert.NotNil(t, f.InjectedAt, f.Name)
			assert.NotNil(t, f.RevertedAt, "%s must be reverted on Ctrl-C", f.Name)
			assert.Empty(t, f.VerifyError, "the revert of %s must restore the recorded state", f.Name)
		}
	})

	// After the last phase: the cleanup (reverting the fault that stayed,
	// writing the reports, removing the testbed) takes milliseconds, too
	// short to hit at will. The NAT agent is frozen (SIGSTOP) before the
	// phase ends, so the revert waits for it: the Ctrl-Cs are sure to land
	// in the cleanup, and the second one has something to report.
	t.Run("teardown", func(t *testing.T) {
		out := t.TempDir()
		r := startInTerminal(t, bin, "run", scenarioFile, "--out", out)
		runID := r.waitFor(t, regexp.MustCompile(`\(run ([0-9a-f]+)\)`))[1]
		r.waitFor(t, regexp.MustCompile(`verify forwarding-off`)) // the timeline's last call on the NAT box
		nat := agentPID(t, runID, "nat")
		require.NoError(t, syscall.Kill(nat, syscall.SIGSTOP))
		resumed := false
		resume := func() {
			if !resumed {
				resumed = true
				require.NoError(t, syscall.Kill(nat, syscall.SIGCONT))
			}
		}
		defer resume()
		r.waitFor(t, regexp.MustCompile(`cleaning up: reverting faults`))
		r.ctrlC(t)
		r.waitFor(t, regexp.MustCompile(`interrupted: the run had ended, finishing the cleanup`))
		r.ctrlC(t)
		still := r.waitFor(t, regexp.MustCompile(`still cleaning up: ([^;\r\n]+); press Ctrl-C again to abandon`))
		assert.Equal(t, "reverting faults, run "+runID+" has 4 namespaces left", still[1])
		resume()
		r.requireExit(t, ExitFail)
		r.waitFor(t, regexp.MustCompile(`interrupted while cleaning up; the run had ended, its report stands`))
		r.requireNothingLeft(t)

		// Every phase had ended: the report is whole, and judged.
		rep, err := reports.Read(filepath.Join(out, "report.json"))
		require.NoError(t, err)
		assert.Equal(t, reports.VerdictPass, rep.Verdict)
		require.Len(t, rep.Faults, 2)
		for _, f := range rep.Faults {
			assert.NotNil(t, f.RevertedAt, "%s must be reverted", f.Name)
			assert.Empty(t, f.VerifyError, f.Name)
		}
	})

	// A third Ctrl-C gives up on a cleanup that hangs, and says so: what
	// is left and that natlab clean removes it, which it then does.
	t.Run("abandon", func(t *testing.T) {
		r := startInTerminal(t, bin, "run", scenarioFile, "--out", t.TempDir())
		runID := r.waitFor(t, regexp.MustCompile(`\(run ([0-9a-f]+)\)`))[1]
		r.waitFor(t, regexp.MustCompile(`verify forwarding-off`))
		require.NoError(t, syscall.Kill(agentPID(t, runID, "nat"), syscall.SIGSTOP)) // killed with natlab (parent-death signal)
		r.waitFor(t, regexp.MustCompile(`cleaning up: reverting faults`))
		r.ctrlC(t)
		r.waitFor(t, regexp.MustCompile(`interrupted: the run had ended`))
		r.ctrlC(t)
		r.waitFor(t, regexp.MustCompile(`still cleaning up: reverting faults`))
		r.ctrlC(t)
		r.requireExit(t, ExitFail)
		r.waitFor(t, regexp.MustCompile(`cleanup abandoned while reverting faults, run `+runID+` has 4 namespaces left; natlab clean removes what is left`))

		names, err := netns.Namespaces(runID)
		require.NoError(t, err)
		assert.Len(t, names, 4, "abandoned means left as it was")
		code, stdout, stderr := run(t, "clean", runID)
		require.Equal(t, ExitPass, code, stdout+stderr)
		assert.Contains(t, stdout, "cleaned run "+runID)
		r.requireNothingLeft(t)
	})
}

// agentPID is the pid of the agent of host in run id.
func agentPID(t *testing.T, id, host string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if strings.HasSuffix(string(raw), "\x00--host\x00"+host+"\x00--run\x00"+id+"\x00") {
			return pid
		}
	}
	t.Fatalf("no agent of %s in run %s", host, id)
	return 0
}

// The interrupt handler itself: the first signal cancels the run with
// its cause, the second names the stage the cleanup is in.
func TestInterruptsNameTheStage(t *testing.T) {
	notes := &noteRecorder{}
	ctx, in := catchInterrupts(context.Background(), notes, os.Stderr)
	defer in.stop()
	in.setStage(runner.StagePlay)
	in.sigs <- syscall.SIGINT
	<-ctx.Done()
	assert.EqualError(t, context.Cause(ctx), "interrupt signal received")
	assert.Equal(t, "interrupted: stopping the run and cleaning up (Ctrl-C again says what is left)", notes.next(t))
	assert.True(t, in.caught())
	in.setStage(runner.StageRevert)
	in.sigs <- syscall.SIGTERM
	assert.Equal(t, "still cleaning up: reverting faults; press Ctrl-C again to abandon the cleanup (natlab clean then removes what is left)", notes.next(t))
}

type noteRecorder struct {
	runner.Progress
	notes chan string
	once  sync.Once
}

func (n *noteRecorder) ch() chan string {
	n.once.Do(func() { n.notes = make(chan string, 8) })
	return n.notes
}

func (n *noteRecorder) Note(msg string) { n.ch() <- msg }

func (n *noteRecorder) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-n.ch():
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no note")
		return ""
	}
}

// buildNatlab builds the real natlab binary as the README does
// (CGO_ENABLED=0, a static binary) into a temp dir of the test.
func buildNatlab(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	require.NoError(t, err, "these tests build natlab and need the go tool on the PATH")
	bin := filepath.Join(t.TempDir(), "natlab")
	cmd := exec.Command(goTool, "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build:\n%s", out)
	return bin
}

// cliRun is a natlab process whose output is read as it comes.
type cliRun struct {
	cmd  *exec.Cmd
	term *os.File // the pty master

	mu      sync.Mutex
	out     bytes.Buffer
	grew    chan struct{} // closed and replaced when output arrives
	drained chan struct{} // closed when the output has ended
	exited  chan struct{}
	waitErr error

	interrupted time.Time // when the first Ctrl-C was sent
	// before: run ids whose namespaces, state or agents existed before
	// this process started.
	before map[string]bool
}

// startInTerminal starts natlab with stdin, stdout and stderr on a new
// pseudo-terminal whose foreground process group it leads, as a shell
// runs it: Ctrl-C typed there signals it, and its progress is the bar.
func startInTerminal(t *testing.T, bin string, args ...string) *cliRun {
	t.Helper()
	r := &cliRun{grew: make(chan struct{}), drained: make(chan struct{}), exited: make(chan struct{}), before: runIDsPresent(t)}
	r.cmd = exec.Command(bin, args...)
	var err error
	r.term, err = pty.StartWithAttrs(r.cmd, &pty.Winsize{Rows: 40, Cols: 160}, &syscall.SysProcAttr{Setsid: true, Setctty: true})
	require.NoError(t, err)
	go r.drain()
	go func() {
		err := r.cmd.Wait()
		r.mu.Lock()
		r.waitErr = err
		r.mu.Unlock()
		close(r.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-r.exited:
		default: // the test failed early: do not leave the run behind
			_ = r.cmd.Process.Kill()
			<-r.exited
			if ids := r.ownRuns(t); len(ids) > 0 {
				out, err := exec.Command(r.cmd.Path, append([]string{"clean"}, ids...)...).CombinedOutput()
				t.Logf("natlab clean %v: %v\n%s", ids, err, out)
			}
		}
		r.term.Close()
		if t.Failed() {
			t.Logf("natlab output:\n%q", r.output())
		}
	})
	return r
}

// drain reads the output until the terminal's other side is closed (EIO
// on the master), so natlab never blocks on a full terminal.
func (r *cliRun) drain() {
	defer close(r.drained)
	buf := make([]byte, 4096)
	for {
		n, err := r.term.Read(buf)
		r.mu.Lock()
		r.out.Write(buf[:n])
		close(r.grew)
		r.grew = make(chan struct{})
		r.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (r *cliRun) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.String()
}

// waitFor waits until the output matches re, and returns the match.
func (r *cliRun) waitFor(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		r.mu.Lock()
		m := re.FindStringSubmatch(r.out.String())
		grew := r.grew
		r.mu.Unlock()
		if m != nil {
			return m
		}
		select {
		case <-grew:
		case <-deadline:
			t.Fatalf("natlab never printed %q", re)
		}
	}
}

// ctrlC types Ctrl-C on the terminal: its line discipline sends SIGINT
// to the foreground process group, which is natlab's (the agents have
// groups of their own).
func (r *cliRun) ctrlC(t *testing.T) {
	t.Helper()
	if r.interrupted.IsZero() {
		r.interrupted = time.Now()
	}
	_, err := r.term.Write([]byte{0x03})
	require.NoError(t, err)
}

// requireExit waits for the exit that must follow the first Ctrl-C.
func (r *cliRun) requireExit(t *testing.T, code int) {
	t.Helper()
	select {
	case <-r.exited:
	case <-time.After(exitWithin):
		t.Fatalf("natlab still runs %s after Ctrl-C", exitWithin)
	}
	took := time.Since(r.interrupted)
	t.Logf("natlab exited %s after the first Ctrl-C", took.Round(time.Millisecond))
	r.mu.Lock()
	err := r.waitErr
	r.mu.Unlock()
	if code == ExitPass {
		require.NoError(t, err, "natlab must exit 0")
	} else {
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "natlab must exit with a code, not die of the signal")
		require.Equal(t, code, ee.ExitCode(), "exit status %v", ee)
	}
	// The last output may still be in the terminal when the process ends.
	select {
	case <-r.drained:
	case <-time.After(5 * time.Second):
		t.Fatal("the output never ended")
	}
}

// ownRuns are the runs of this natlab process that still have a trace:
// those whose state file records its pid, and those with namespaces or
// agents but no state file that did not exist before it started. Runs of
// other processes (other tests, live or killed) always have a state file
// while anything of theirs exists, since a run is claimed first and
// forgotten last.
func (r *cliRun) ownRuns(t *testing.T) []string {
	t.Helper()
	var ids []string
	for id := range runIDsPresent(t) {
		st, ok := stateOf(t, id)
		switch {
		case ok && st.PID == r.cmd.Process.Pid:
		case !ok && !r.before[id]:
		default:
			continue
		}
		ids = append(ids, id)
	}
	return ids
}

// requireNothingLeft checks that no namespace, agent process or run state
// of the run survives.
func (r *cliRun) requireNothingLeft(t *testing.T) {
	t.Helper()
	for _, id := range r.ownRuns(t) {
		names, err := netns.Namespaces(id)
		require.NoError(t, err)
		_, stateErr := os.Stat(filepath.Join(testbed.StateDir, id+".json"))
		t.Errorf("run %s left namespaces %v, agents %v, state file: %v", id, names, agentsOf(t, id), !errors.Is(stateErr, os.ErrNotExist))
	}
}

// runIDsPresent are the runs with a namespace, a state file or an agent.
func runIDsPresent(t *testing.T) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	names, err := netns.Namespaces("")
	require.NoError(t, err)
	for _, n := range names {
		id, _, _ := strings.Cut(strings.TrimPrefix(n, netns.Prefix), "-")
		ids[id] = true
	}
	states, err := testbed.ListStates()
	require.NoError(t, err)
	for _, s := range states {
		ids[s.ID] = true
	}
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(raw), "\x00")
		for i := range args {
			if args[i] == "--run" && i+1 < len(args) && len(args) > 1 && args[1] == "agent" {
				ids[args[i+1]] = true
			}
		}
	}
	return ids
}

func stateOf(t *testing.T, id string) (testbed.State, bool) {
	t.Helper()
	states, err := testbed.ListStates()
	require.NoError(t, err)
	for _, s := range states {
		if s.ID == id {
			return s, true
		}
	}
	return testbed.State{}, false
}
