package chaos_test

import (
	"testing"

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
	newFault    = tt.NewFault
	runTimeline = tt.RunTimeline
	phase       = tt.PhaseOf
	phases      = tt.Phases
	sysctl      = tt.Sysctl
	setSysctl   = tt.SetSysctl
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
