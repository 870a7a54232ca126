package docker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/agent"
	"github.com/natlab/natlab/docker"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/servers"
)

// agentBinary is the static agent the tests' image holds, built once per
// test binary (the test binary itself is dynamically linked under -race).
// It is the agent package alone, so the tests do not hang on the whole CLI.
var agentBinary string

// The helper runner of TestCleanAfterKilledRunner.
const (
	helperEnv = "NATLAB_DOCKER_TEST_HELPER"
	binaryEnv = "NATLAB_DOCKER_TEST_BINARY"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "up" {
		os.Exit(helperUp())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	path, cleanup, err := docker.BuildStatic(ctx, "./docker/internal/testagent")
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "build the agent binary:", err)
		os.Exit(1)
	}
	agentBinary = path
	code := m.Run()
	cleanup()
	os.Exit(code)
}

func newBackend() *docker.Backend {
	return docker.New(docker.Options{Binary: agentBinary})
}

// requireDocker fails (never skips) when the engine is unreachable: CI has
// one, so its absence is a broken environment.
func requireDocker(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := docker.Leftovers(ctx)
	require.NoError(t, err, "these tests need a reachable docker engine (CI has one)")
}

// up builds a docker testbed from spec and tears it down when the test
// ends, checking nothing labelled with the run is left.
func up(t testing.TB, spec testbed.Spec) *testbed.Testbed {
	t.Helper()
	requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tb, err := testbed.Up(ctx, spec, newBackend(), testbed.Options{Log: testLog{t}})
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, tb.Down(context.Background()))
		require.Empty(t, leftovers(t, tb.Run.ID), "docker resources left behind after teardown")
	})
	return tb
}

// leftovers lists the run's containers and networks.
func leftovers(t testing.TB, runID string) []docker.Resource {
	t.Helper()
	all, err := docker.Leftovers(context.Background())
	require.NoError(t, err)
	var out []docker.Resource
	for _, r := range all {
		if r.RunID == runID {
			out = append(out, r)
		}
	}
	return out
}

type testLog struct{ t testing.TB }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Logf("%s", p)
	return len(p), nil
}

func load(t testing.TB, tb *testbed.Testbed, client string, plan loadgen.Plan) *loadgen.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), plan.Duration()+60*time.Second)
	defer cancel()
	var res loadgen.Result
	require.NoError(t, tb.Agent(client).Call(ctx, agent.OpLoadRun, plan, &res))
	require.NoError(t, res.Check(), "accounting invariant")
	return &res
}

func backendStats(t testing.TB, conn *agent.Conn) []servers.Stats {
	t.Helper()
	var st []servers.Stats
	require.NoError(t, conn.Call(context.Background(), agent.OpBackendStats, nil, &st))
	return st
}

func target(t testing.TB, tb *testbed.Testbed, backend string, port uint16) string {
	t.Helper()
	b, ok := tb.Run.Layout.Backend(backend)
	require.True(t, ok)
	return fmt.Sprintf("%s:%d", b.Addr, port)
}

// holdPlan keeps n TCP connections open to target for d.
func holdPlan(target string, n int, d time.Duration) loadgen.Plan {
	return loadgen.Plan{
		Target:         target,
		Strategy:       loadgen.Strategy{Kind: loadgen.KindTCP},
		Phases:         []loadgen.Phase{{Name: "hold", Duration: d, Schedule: loadgen.Schedule{Kind: loadgen.ScheduleHold, Hold: n}}},
		ConnectTimeout: 3 * time.Second,
		Tick:           500 * time.Millisecond,
	}
}

func pretty(v any) string {
	raw, _ := json.MarshalIndent(v, "", "  ")
	return string(raw)
}
