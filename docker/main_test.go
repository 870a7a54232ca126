package docker_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/docker"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/service"
	tt "github.com/natlab/natlab/testbed/testbedtest"
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
	require.NoError(t, docker.Check(ctx), "these tests need a reachable docker engine (CI has one)")
}

// up builds a docker testbed from spec and tears it down when the test
// ends, checking nothing labelled with the run is left.
func up(t testing.TB, spec testbed.Spec) *testbed.Testbed {
	t.Helper()
	requireDocker(t)
	return tt.UpOn(t, spec, newBackend(), func(id string) []string {
		var names []string
		for _, r := range leftovers(t, id) {
			names = append(names, r.String())
		}
		return names
	})
}

// leftovers lists the run's containers and networks.
func leftovers(t testing.TB, runID string) []docker.Resource {
	t.Helper()
	out, err := docker.Resources(context.Background(), runID)
	require.NoError(t, err)
	return out
}

var (
	testLog  = tt.Log
	holdPlan = tt.HoldPlan
	pretty   = tt.Pretty
)

func load(t testing.TB, tb *testbed.Testbed, client string, plan loadgen.Plan) *loadgen.Result {
	t.Helper()
	return tt.Load(t, tb, client, plan)
}

func target(t testing.TB, tb *testbed.Testbed, backend string, port uint16) string {
	t.Helper()
	return tt.Target(t, tb.Run.Layout, backend, port)
}

func backendStats(t testing.TB, conn *wire.Conn) []service.Stats {
	t.Helper()
	var st []service.Stats
	require.NoError(t, conn.Call(context.Background(), wire.OpBackendStats, nil, &st))
	return st
}
