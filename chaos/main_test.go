package chaos_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/agent"
	"github.com/natlab/natlab/chaos"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natbox"
	"github.com/natlab/natlab/testbed/netns"
	"github.com/natlab/natlab/testbed/servers"
)

// TestMain lets the test binary serve as the agent: the netns backend
// re-executes it as `chaos.test agent ROLE ...`.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "agent" {
		os.Exit(agent.Main(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// requireRoot fails (never skips): CI runs as root.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("these tests build real network namespaces and need root; run them as root (CI does)")
	}
}

// up builds a testbed and tears it down (checking no namespace is left)
// when the test ends.
func up(t testing.TB, spec testbed.Spec) (*testbed.Testbed, chaos.Env) {
	t.Helper()
	requireRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tb, err := testbed.Up(ctx, spec, netns.New(netns.Options{}), testbed.Options{Log: testLog{t}})
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, tb.Down(context.Background()))
		left, err := netns.Namespaces(tb.Run.ID)
		require.NoError(t, err)
		require.Empty(t, left, "namespaces left behind after teardown")
	})
	return tb, chaos.TestbedEnv(tb)
}

type testLog struct{ t testing.TB }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Logf("%s", p)
	return len(p), nil
}

var ports256 = natbox.PortRange{First: 1024, Last: 1279}

// oneNAT is one NAT IP (256 ports unless nat says otherwise), one client
// with one address, one TCP echo backend "api" on 8080.
func oneNAT(nat testbed.NATSpec, backends ...testbed.BackendSpec) testbed.Spec {
	if nat.IPs == 0 {
		nat.IPs = 1
	}
	if nat.Ports == (natbox.PortRange{}) {
		nat.Ports = ports256
	}
	if len(backends) == 0 {
		backends = []testbed.BackendSpec{{Name: "api", Protocol: servers.TCPEcho, Port: 8080}}
	}
	return testbed.Spec{
		NATs:     []testbed.NATSpec{nat},
		Clients:  []testbed.ClientSpec{{Name: "client", Addresses: 1}},
		Backends: backends,
	}
}

// load runs plan on the client's agent.
func load(t testing.TB, env chaos.Env, client string, plan loadgen.Plan) *loadgen.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), plan.Duration()+60*time.Second)
	defer cancel()
	var res loadgen.Result
	require.NoError(t, env.Agent(client).Call(ctx, agent.OpLoadRun, plan, &res))
	require.NoError(t, res.Check(), "accounting invariant")
	return &res
}

// loadAsync starts plan and returns a function that waits for its result.
func loadAsync(t testing.TB, env chaos.Env, client string, plan loadgen.Plan) func() *loadgen.Result {
	var res *loadgen.Result
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), plan.Duration()+60*time.Second)
		defer cancel()
		var r loadgen.Result
		if err := env.Agent(client).Call(ctx, agent.OpLoadRun, plan, &r); err != nil {
			t.Errorf("load.run: %v", err)
			return
		}
		res = &r
	}()
	return func() *loadgen.Result {
		wg.Wait()
		require.NotNil(t, res, "load failed")
		require.NoError(t, res.Check(), "accounting invariant")
		return res
	}
}

func target(t testing.TB, env chaos.Env, backend string, port uint16) string {
	t.Helper()
	b, ok := env.Layout().Backend(backend)
	require.True(t, ok)
	return fmt.Sprintf("%s:%d", b.Addr, port)
}

func natMetrics(t testing.TB, env chaos.Env, nat string) natbox.Metrics {
	t.Helper()
	var m natbox.Metrics
	require.NoError(t, env.Agent(nat).Call(context.Background(), agent.OpNATMetrics, nil, &m))
	return m
}

func sysctl(t testing.TB, env chaos.Env, host, key string) string {
	t.Helper()
	var got map[string]string
	require.NoError(t, env.Agent(host).Call(context.Background(), agent.OpSysctlGet, []string{key}, &got))
	return got[key]
}

func setSysctl(t testing.TB, env chaos.Env, host, key, value string) {
	t.Helper()
	require.NoError(t, env.Agent(host).Call(context.Background(), agent.OpSysctlSet, []natbox.Sysctl{{Key: key, Value: value}}, nil))
}

func newFault(t testing.TB, kind, host string, params map[string]any) chaos.Fault {
	t.Helper()
	f, err := chaos.New(kind, host, params)
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

func pretty(v any) string {
	raw, _ := json.MarshalIndent(v, "", "  ")
	return string(raw)
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
