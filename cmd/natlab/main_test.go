package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/agent"
	"github.com/natlab/natlab/docker"
	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/netns"
	"github.com/natlab/natlab/testbed/service"
	tt "github.com/natlab/natlab/testbed/testbedtest"
)

// holdUpEnv makes the test binary bring a testbed up, print its run id and
// wait to be killed: a stand-in for a natlab run that gets SIGKILLed.
const holdUpEnv = "NATLAB_TEST_HOLD_UP"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "agent" {
		os.Exit(agent.Main(os.Args[2:]))
	}
	if os.Getenv(holdUpEnv) == "1" {
		holdUp()
	}
	if args := os.Getenv(cliEnv); args != "" {
		os.Exit(Execute(strings.Split(args, "\x1f"), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func holdUp() {
	spec := testbed.Spec{
		NATs:     []testbed.NATSpec{{IPs: 1, Ports: portrange.Range{First: 1024, Last: 1279}}},
		Clients:  []testbed.ClientSpec{{Name: "client", Addresses: 10}},
		Backends: []testbed.BackendSpec{{Name: "api", Protocol: service.HTTP1, Port: 8080}},
	}
	tb, err := testbed.Up(context.Background(), spec, netns.New(netns.Options{}), testbed.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	fmt.Println(tb.Run.ID)
	select {}
}

func run(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Execute(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

var requireRoot = tt.RequireRoot

// requireDocker fails (never skips) when the docker engine is unreachable:
// CI has one, so its absence is a broken environment.
func requireDocker(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := docker.Check(ctx); err != nil {
		t.Fatalf("these tests need a reachable docker engine, CI has one: %v", err)
	}
}

// A run killed with SIGKILL leaves its namespaces; `natlab clean` removes
// them and forgets the run, and its agents died with it.
func TestCleanRemovesWhatAKilledRunLeft(t *testing.T) {
	requireRoot(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdUpEnv+"=1")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	id := strings.TrimSpace(line)

	names, err := netns.Namespaces(id)
	require.NoError(t, err)
	require.Len(t, names, 4, "fabric, nat, client, api")
	require.Len(t, agentsOf(t, id), 3, "one agent per host")

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()

	left, err := netns.Namespaces(id)
	require.NoError(t, err)
	assert.Equal(t, names, left, "a SIGKILLed run cannot clean up after itself")
	runs, err := netns.New(netns.Options{}).Leftovers(context.Background())
	require.NoError(t, err)
	assert.Contains(t, runs, testbed.State{ID: id, Backend: "netns", Slot: -1}, "the backend lists the run among its leftovers")

	// Only the run this test killed: a bare clean would sweep every dead
	// run on the host, other tests' and other users' included.
	code, out, errOut := run(t, "clean", id)
	require.Equal(t, ExitPass, code, errOut)
	assert.Contains(t, out, "cleaned run "+id)
	assert.Empty(t, agentsOf(t, id), "no agent of the killed run may survive")
	for _, n := range names {
		assert.Contains(t, out, "removed namespace "+n)
	}
	left, err = netns.Namespaces(id)
	require.NoError(t, err)
	assert.Empty(t, left)
	_, err = os.Stat(filepath.Join(testbed.StateDir, id+".json"))
	assert.ErrorIs(t, err, os.ErrNotExist)

	code, out, _ = run(t, "clean", id)
	assert.Equal(t, ExitPass, code)
	assert.Contains(t, out, "nothing to clean")
}

// agentsOf lists the pids of agent processes started for run id.
func agentsOf(t *testing.T, id string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(raw), "\x00")
		for i := range args {
			if args[i] == "--run" && i+1 < len(args) && args[i+1] == id {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// clean leaves a live run alone.
func TestCleanSparesLiveRuns(t *testing.T) {
	requireRoot(t)
	spec := testbed.Spec{
		NATs:     []testbed.NATSpec{{IPs: 1}},
		Clients:  []testbed.ClientSpec{{Name: "client"}},
		Backends: []testbed.BackendSpec{{Name: "api", Protocol: service.TCPEcho, Port: 7}},
	}
	tb, err := testbed.Up(context.Background(), spec, netns.New(netns.Options{}), testbed.Options{})
	require.NoError(t, err)
	defer tb.Down(context.Background())
	code, out, errOut := run(t, "clean", tb.Run.ID)
	require.Equal(t, ExitPass, code, errOut)
	assert.Contains(t, out, "still running")
	names, err := netns.Namespaces(tb.Run.ID)
	require.NoError(t, err)
	assert.Len(t, names, 4)
}

// A run id is never a pattern: clean and down refuse what no run is called.
func TestCleanAndDownRefuseBadRunIDs(t *testing.T) {
	for _, args := range [][]string{{"clean", ""}, {"clean", "../etc"}, {"clean", "abc-nat"}, {"down", "ABC"}} {
		code, _, errOut := run(t, args...)
		assert.Equal(t, ExitInput, code, "%v: %s", args, errOut)
		assert.Contains(t, errOut, "run id", args)
	}
}

func TestVersionAndUsage(t *testing.T) {
	code, out, _ := run(t, "version")
	assert.Equal(t, ExitPass, code)
	assert.Regexp(t, `^natlab \S+ \(go1\.\S+, linux/\w+\), kernel \S+\n$`, out)

	code, _, errOut := run(t, "no-such-command")
	assert.Equal(t, ExitInput, code)
	assert.Contains(t, errOut, "unknown command")

	code, _, errOut = run(t, "version", "--bogus")
	assert.Equal(t, ExitInput, code)
	assert.Contains(t, errOut, "unknown flag")
}
