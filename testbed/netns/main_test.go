package netns_test

import (
	"net/netip"
	"os"
	"testing"

	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natcfg"
	"github.com/natlab/natlab/testbed/service"
	tt "github.com/natlab/natlab/testbed/testbedtest"
)

func TestMain(m *testing.M) {
	if job := os.Getenv(referenceEnv); job != "" {
		os.Exit(runReference(job))
	}
	tt.Main(m)
}

// Short names for the shared harness.
var (
	requireRoot  = tt.RequireRoot
	up           = tt.Up
	pretty       = tt.Pretty
	holdPlan     = tt.HoldPlan
	ports256     = tt.Ports256
	natMetrics   = func(t testing.TB, tb *testbed.Testbed, nat string) natcfg.Metrics { return tt.NATMetrics(t, tb, nat) }
	backendStats = func(t testing.TB, tb *testbed.Testbed, b string) []service.Stats { return tt.BackendStats(t, tb, b) }
)

func load(t testing.TB, tb *testbed.Testbed, client string, plan loadgen.Plan) *loadgen.Result {
	t.Helper()
	return tt.Load(t, tb, client, plan)
}

// loadAll runs several plans on one client at once.
func loadAll(t testing.TB, tb *testbed.Testbed, client string, plans ...loadgen.Plan) []*loadgen.Result {
	t.Helper()
	waits := make([]func() *loadgen.Result, len(plans))
	for i, p := range plans {
		waits[i] = tt.LoadAsync(t, tb, client, p)
	}
	out := make([]*loadgen.Result, len(plans))
	for i, w := range waits {
		out[i] = w()
	}
	return out
}

func target(t testing.TB, tb *testbed.Testbed, backend string, port uint16) string {
	t.Helper()
	return tt.Target(t, tb.Run.Layout, backend, port)
}

func sources(tb *testbed.Testbed, client string) []netip.Addr {
	return tt.Sources(tb.Run.Layout, client)
}

// oneNAT is 1 NAT IP with 256 ports, one client, one TCP echo backend
// listening on 8080 and 8081.
func oneNAT(nat testbed.NATSpec) testbed.Spec {
	return tt.OneNAT(nat, testbed.BackendSpec{Name: "api", Protocol: service.TCPEcho, Port: 8080,
		Extra: []testbed.BackendListener{{Protocol: service.TCPEcho, Port: 8081}}})
}
