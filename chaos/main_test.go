package chaos_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/chaos"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natcfg"
	tt "github.com/natlab/natlab/testbed/testbedtest"
)

func TestMain(m *testing.M) { tt.Main(m) }

// Short names for the shared harness.
var (
	requireRoot = tt.RequireRoot
	ports256    = tt.Ports256
	oneNAT      = tt.OneNAT
	pretty      = tt.Pretty
)

// up builds a testbed, torn down (and checked for leftovers) at the end.
func up(t testing.TB, spec testbed.Spec) (*testbed.Testbed, chaos.Env) {
	t.Helper()
	tb := tt.Up(t, spec)
	return tb, chaos.TestbedEnv(tb)
}

func load(t testing.TB, env chaos.Env, client string, plan loadgen.Plan) *loadgen.Result {
	t.Helper()
	return tt.Load(t, env, client, plan)
}

func loadAsync(t testing.TB, env chaos.Env, client string, plan loadgen.Plan) func() *loadgen.Result {
	return tt.LoadAsync(t, env, client, plan)
}

func target(t testing.TB, env chaos.Env, backend string, port uint16) string {
	t.Helper()
	return tt.Target(t, env.Layout(), backend, port)
}

func natMetrics(t testing.TB, env chaos.Env, nat string) natcfg.Metrics {
	t.Helper()
	return tt.NATMetrics(t, env, nat)
}

func sysctl(t testing.TB, env chaos.Env, host, key string) string {
	t.Helper()
	var got map[string]string
	require.NoError(t, env.Agent(host).Call(context.Background(), wire.OpSysctlGet, []string{key}, &got))
	return got[key]
}

func setSysctl(t testing.TB, env chaos.Env, host, key, value string) {
	t.Helper()
	require.NoError(t, env.Agent(host).Call(context.Background(), wire.OpSysctlSet, []natcfg.Sysctl{{Key: key, Value: value}}, nil))
}

func newFault(t testing.TB, env chaos.Env, kind, host string, params map[string]any) chaos.Fault {
	t.Helper()
	f, err := chaos.New(kind, host, env.Spec(), params)
	require.NoError(t, err)
	return f
}

// phase returns the counts of the named phase.
func phase(t testing.TB, r *loadgen.Result, name string) loadgen.PhaseResult {
	t.Helper()
	for _, p := range r.Phases {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no phase %q", name)
	return loadgen.PhaseResult{}
}

// phases builds consecutive phases of one schedule.
func phases(s loadgen.Schedule, names []string, ds ...time.Duration) []loadgen.Phase {
	out := make([]loadgen.Phase, len(names))
	for i, n := range names {
		out[i] = loadgen.Phase{Name: n, Duration: ds[i], Schedule: s}
	}
	return out
}

// runTimeline runs faults from start and reverts what is left; it
// returns the markers.
func runTimeline(t testing.TB, env chaos.Env, start time.Time, faults ...chaos.Scheduled) []chaos.Marker {
	t.Helper()
	tl, err := chaos.NewTimeline(env, faults, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tl.RevertAll(context.Background()) })
	require.NoError(t, tl.Run(context.Background(), start))
	require.NoError(t, tl.RevertAll(context.Background()))
	return tl.Markers()
}
