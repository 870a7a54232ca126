// Package testbedtest is what the tests of several packages need to build
// a real testbed and drive it: the hook that lets a test binary serve as
// the agent, root checks that fail rather than skip, bring-up with a
// teardown check, loads run through client agents, and common plans.
package testbedtest

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
	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natcfg"
	"github.com/natlab/natlab/testbed/netns"
	"github.com/natlab/natlab/testbed/service"
)

// Main lets the test binary serve as the agent: the netns backend
// re-executes it as `pkg.test agent ROLE ...`. Call it from TestMain.
func Main(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "agent" {
		os.Exit(agent.Main(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// RequireRoot fails (never skips) when the test cannot build namespaces:
// CI runs as root, so a missing privilege is a broken environment.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("these tests build real network namespaces and need root; run them as root (CI does)")
	}
}

// Agents finds the agent of a host (*testbed.Testbed and chaos.Env).
type Agents interface {
	Agent(host string) *wire.Conn
}

// Up builds a netns testbed and tears it down when the test ends, checking
// that no namespace of the run is left.
func Up(t testing.TB, spec testbed.Spec) *testbed.Testbed {
	t.Helper()
	RequireRoot(t)
	return UpOn(t, spec, netns.New(netns.Options{}), func(id string) []string {
		left, err := netns.Namespaces(id)
		require.NoError(t, err)
		return left
	})
}

// UpOn builds a testbed on backend; at the end of the test it comes down
// and leftovers(runID) must name nothing.
func UpOn(t testing.TB, spec testbed.Spec, backend testbed.Backend, leftovers func(runID string) []string) *testbed.Testbed {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tb, err := testbed.Up(ctx, spec, backend, testbed.Options{Log: Log(t)})
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, tb.Down(context.Background()))
		require.Empty(t, leftovers(tb.Run.ID), "resources of the run left behind after teardown")
	})
	return tb
}

// Log sends agent log lines to the test log.
func Log(t testing.TB) *LogWriter { return &LogWriter{t} }

// LogWriter writes to a test's log.
type LogWriter struct{ t testing.TB }

func (l *LogWriter) Write(p []byte) (int, error) {
	l.t.Logf("%s", p)
	return len(p), nil
}

// Load runs plan on the client host's agent and checks the accounting
// invariant of its result.
func Load(t testing.TB, a Agents, client string, plan loadgen.Plan) *loadgen.Result {
	t.Helper()
	return LoadAsync(t, a, client, plan)()
}

// LoadAsync starts plan and returns a function that waits for its result.
func LoadAsync(t testing.TB, a Agents, client string, plan loadgen.Plan) func() *loadgen.Result {
	var res loadgen.Result
	var err error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), plan.Duration()+60*time.Second)
		defer cancel()
		err = a.Agent(client).Call(ctx, wire.OpLoadRun, plan, &res)
	}()
	return func() *loadgen.Result {
		t.Helper()
		wg.Wait()
		require.NoError(t, err, "load.run on %s", client)
		require.NoError(t, res.CheckFinished(), "accounting invariant: every attempt has exactly one outcome")
		return &res
	}
}

// WaitFor polls cond every 20 ms until it holds, and fails the test when
// it still does not after within. It polls in the calling goroutine, so
// cond may call require and the helpers here (testify's Eventually runs
// its condition in a goroutine of its own, where a failing require cannot
// stop the test). within bounds a wait for something the mechanism makes
// true; it is no claim about how fast it happens, so make it generous.
func WaitFor(t testing.TB, within time.Duration, cond func() bool, msgAndArgs ...any) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			require.Fail(t, fmt.Sprintf("condition not met within %v", within), msgAndArgs...)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Target is backend:port of a backend in the layout.
func Target(t testing.TB, l *testbed.Layout, backend string, port uint16) string {
	t.Helper()
	b, ok := l.Backend(backend)
	require.True(t, ok, "no backend %q", backend)
	return fmt.Sprintf("%s:%d", b.Addr, port)
}

// Sources are the source addresses of a client host.
func Sources(l *testbed.Layout, client string) []netip.Addr {
	for _, h := range l.Hosts {
		if h.Name == client {
			return h.Sources
		}
	}
	return nil
}

// NATMetrics reads a NAT box's metrics.
func NATMetrics(t testing.TB, a Agents, nat string) natcfg.Metrics {
	t.Helper()
	var m natcfg.Metrics
	require.NoError(t, a.Agent(nat).Call(context.Background(), wire.OpNATMetrics, nil, &m))
	return m
}

// BackendStats reads the counters of a backend's servers.
func BackendStats(t testing.TB, a Agents, backend string) []service.Stats {
	t.Helper()
	if all, ok := a.(interface{ Agents(string) []*wire.Conn }); ok {
		st, err := testbed.BackendStatsOf(context.Background(), all.Agents(backend)) // every server process, merged
		require.NoError(t, err)
		return st
	}
	var st []service.Stats
	require.NoError(t, a.Agent(backend).Call(context.Background(), wire.OpBackendStats, nil, &st))
	return st
}

// Ports256 is the scaled-down range that makes exhaustion quick.
var Ports256 = portrange.Range{First: 1024, Last: 1279}

// OneNAT is one NAT (1 IP and 256 ports unless nat says otherwise), one
// client host "client" with one address, and the backends given (default
// one TCP echo backend "api" on 8080).
func OneNAT(nat testbed.NATSpec, backends ...testbed.BackendSpec) testbed.Spec {
	if nat.IPs == 0 {
		nat.IPs = 1
	}
	if nat.Ports == (portrange.Range{}) {
		nat.Ports = Ports256
	}
	if len(backends) == 0 {
		backends = []testbed.BackendSpec{{Name: "api", Protocol: service.TCPEcho, Port: 8080}}
	}
	return testbed.Spec{
		NATs:     []testbed.NATSpec{nat},
		Clients:  []testbed.ClientSpec{{Name: "client", Addresses: 1}},
		Backends: backends,
	}
}

// HoldPlan keeps n TCP connections open to target for d.
func HoldPlan(target string, n int, d time.Duration) loadgen.Plan {
	return loadgen.Plan{
		Target:         target,
		Strategy:       loadgen.Strategy{Kind: loadgen.KindTCP},
		Phases:         []loadgen.Phase{{Name: "hold", Duration: d, Schedule: loadgen.Schedule{Kind: loadgen.ScheduleHold, Hold: n}}},
		ConnectTimeout: 3 * time.Second,
		Tick:           500 * time.Millisecond,
	}
}

// OpenPlan sends to target at rate per second for d, in one phase "p",
// with strategy st; callers set timeouts on the result as they need.
func OpenPlan(target string, st loadgen.Strategy, rate int, d time.Duration) loadgen.Plan {
	return loadgen.Plan{Target: target, Strategy: st,
		Phases: []loadgen.Phase{{Name: "p", Duration: d, Schedule: loadgen.Schedule{Kind: loadgen.ScheduleOpen, Rate: loadgen.RatePerSecond(rate)}}}}
}

// Pretty renders v as indented JSON for assertion messages.
func Pretty(v any) string {
	raw, _ := json.MarshalIndent(v, "", "  ")
	return string(raw)
}
