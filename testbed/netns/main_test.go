package netns_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/agent"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natbox"
	"github.com/natlab/natlab/testbed/netns"
	"github.com/natlab/natlab/testbed/servers"
)

// TestMain lets the test binary serve as the agent: the backend re-executes
// it as `natlab.test agent ROLE ...`.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "agent" {
		os.Exit(agent.Main(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// requireRoot fails (never skips) when the test cannot build namespaces:
// CI runs as root, so a missing privilege is a broken environment.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("these tests build real network namespaces and need root; run them as root (CI does)")
	}
}

// up builds a testbed from spec and tears it down when the test ends.
func up(t testing.TB, spec testbed.Spec) *testbed.Testbed {
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
	return tb
}

type testLog struct{ t testing.TB }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Logf("%s", p)
	return len(p), nil
}

// load runs plan on the client host's agent and returns its result.
func load(t testing.TB, tb *testbed.Testbed, client string, plan loadgen.Plan) *loadgen.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), plan.Duration()+60*time.Second)
	defer cancel()
	var res loadgen.Result
	require.NoError(t, tb.Agent(client).Call(ctx, agent.OpLoadRun, plan, &res))
	require.NoError(t, res.Check(), "accounting invariant")
	return &res
}

// loadAll runs several plans on one client at once.
func loadAll(t testing.TB, tb *testbed.Testbed, client string, plans ...loadgen.Plan) []*loadgen.Result {
	t.Helper()
	out := make([]*loadgen.Result, len(plans))
	var wg sync.WaitGroup
	for i, p := range plans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = load(t, tb, client, p)
		}()
	}
	wg.Wait()
	return out
}

func natMetrics(t testing.TB, tb *testbed.Testbed, nat string) natbox.Metrics {
	t.Helper()
	var m natbox.Metrics
	require.NoError(t, tb.Agent(nat).Call(context.Background(), agent.OpNATMetrics, nil, &m))
	return m
}

func backendStats(t testing.TB, tb *testbed.Testbed, backend string) []servers.Stats {
	t.Helper()
	var st []servers.Stats
	require.NoError(t, tb.Agent(backend).Call(context.Background(), agent.OpBackendStats, nil, &st))
	return st
}

func target(t testing.TB, tb *testbed.Testbed, backend string, port uint16) string {
	t.Helper()
	b, ok := tb.Run.Layout.Backend(backend)
	require.True(t, ok)
	return fmt.Sprintf("%s:%d", b.Addr, port)
}

func sources(tb *testbed.Testbed, client string) []netip.Addr {
	for _, h := range tb.Run.Layout.Hosts {
		if h.Name == client {
			return h.Sources
		}
	}
	return nil
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
