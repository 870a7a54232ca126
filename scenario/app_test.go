package scenario

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
)

// appBase is two zones with an app tier each, called by each zone's
// client host.
const appBase = `name: t
testbed:
  nats: [{name: nat-a}, {name: nat-b}]
  blocks: [{name: zone-a, nat: nat-a}, {name: zone-b, nat: nat-b}]
  clients: [{name: lb-a, block: zone-a}, {name: lb-b, block: zone-b}]
  backends: [{name: deps, protocol: http1, port: 8080}, {name: echo, protocol: tcp-echo, port: 7}]
  apps:
    - {name: app-a, block: zone-a, hosts: 2, dependency: deps, boot: {factor: 5}}
    - {name: app-b, block: zone-b, dependency: deps:8080, health: deps, calls: boot, check: {interval: 2s, timeout: 1s, failures: 2}}
phases:
  - {name: p1, duration: 10s, load: [{target: app-a, rate: 10/s}, {target: app-b, client: lb-b, rate: 10/s}]}
assert:
  - expect: app.app-a.restarts == 0
  - expect: app.app-b.error_rate < 1%
`

func TestParseApps(t *testing.T) {
	s, err := Parse("s.yaml", []byte(appBase), Options{Faults: testCatalog{}})
	require.NoError(t, err)
	require.Len(t, s.Testbed.Apps, 2)
	a, b := s.Testbed.Apps[0], s.Testbed.Apps[1]
	assert.Equal(t, []string{"app-a-1", "app-a-2"}, a.HostNames())
	assert.Equal(t, testbed.CallsPerRequest, a.Calls, "calls default to every request")
	assert.Equal(t, "deps", a.Health, "health checks default to the dependency")
	assert.EqualValues(t, 8080, a.DependencyPort)
	assert.Equal(t, 5.0, a.Boot.Factor)
	assert.Equal(t, testbed.DefaultBootBackoff, a.Boot.Backoff)
	assert.Equal(t, testbed.DefaultCheckFailures, a.Check.Failures)
	assert.Equal(t, testbed.CallsAtBoot, b.Calls)
	assert.Equal(t, testbed.CheckSpec{Interval: 2 * time.Second, Timeout: time.Second, Failures: 2}, b.Check)

	loads := s.Phases[0].Loads
	require.Len(t, loads, 2)
	assert.True(t, loads[0].App)
	assert.Equal(t, "app-a", loads[0].Target)
	assert.Equal(t, loadgen.KindHTTP1, loads[0].Strategy.Kind, "an app serves http1")

	// The app hosts are laid out in their block, one address each, with
	// routes to the callers' source prefixes on the link.
	l, err := testbed.Plan(&s.Testbed, 0)
	require.NoError(t, err)
	var apps, clients int
	for _, h := range l.Hosts {
		if h.Role == testbed.RoleApp {
			apps++
			routes := testbed.AppRoutes(l, h)
			require.NotEmpty(t, routes, h.Name)
			for _, r := range routes {
				bl, _ := l.Block(h.Block)
				assert.True(t, bl.Link.Contains(r.Via), "%s reaches %s on its link", h.Name, r.Dst)
			}
		} else {
			clients++
			assert.Empty(t, testbed.AppRoutes(l, h))
		}
	}
	assert.Equal(t, 3, apps)
	assert.Equal(t, 2, clients)
}

func TestParseAppsInvalid(t *testing.T) {
	cases := []struct {
		name, old, new string
		want           []string
	}{
		{"unknown dependency", "dependency: deps, boot", "dependency: dep, boot",
			[]string{`s.yaml:8:58: testbed.apps[0].dependency: unknown backend "dep": backends are [deps echo]`}},
		{"dependency that is not http", "dependency: deps, boot", "dependency: echo, health: deps, boot",
			[]string{`s.yaml:8:58: testbed.apps[0].dependency: backend echo has no http1 listener on port 7: the app calls it over HTTP/1.1`}},
		{"bad factor", "boot: {factor: 5}", "boot: {factor: 20}",
			[]string{`s.yaml:8:79: testbed.apps[0].boot.factor: 20: want a backoff factor from 1 to 10`}},
		{"bad calls", "calls: boot", "calls: never",
			[]string{`s.yaml:9:80: testbed.apps[1].calls: unknown calls "never": valid are "request" (every request calls the dependency on a new connection), "pooled" (on the host's keep-alive connections) and "boot" (only the boot does)`}},
		{"a call pool without pooled calls", "calls: boot", "calls: boot, call_pool: 4",
			[]string{`s.yaml:9:97: testbed.apps[1].call_pool: call_pool is the keep-alive pool of calls: pooled; calls is "boot"`}},
		{"a call pool too large", "calls: boot", "calls: pooled, call_pool: 300",
			[]string{`s.yaml:9:99: testbed.apps[1].call_pool 300: want a number from 1 to 256`}},
		{"check timeout not shorter than the interval", "timeout: 1s, failures: 2", "timeout: 2s, failures: 2",
			[]string{`s.yaml:9:117: testbed.apps[1].check.timeout: 2s is not shorter than the check interval 2s`}},
		{"a caller in another zone", "client: lb-b", "client: lb-a",
			[]string{`s.yaml:11:91: load.client lb-a cannot call app app-b: an internal caller reaches the app hosts of its own block (zone-b), not through a NAT; client hosts of block zone-b are lb-b`}},
		{"unknown app metric", "app.app-a.restarts", "app.app-a.reboots",
			[]string{`s.yaml:13:13: unknown app metric "app.app-a.reboots": valid are app.app-a.<attempts|boot_attempts|error_rate|errors|health_check_failures|restarts|serving|time_to_serve>`}},
		{"unknown app", "app.app-b.error_rate", "app.app-c.error_rate",
			[]string{`s.yaml:14:13: metric "app.app-c.error_rate" names unknown app "app-c": did you mean "app-a"? apps are app-a, app-b`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := replaceOnce(t, appBase, tc.old, tc.new)
			_, err := Parse("s.yaml", []byte(src), Options{Faults: testCatalog{}})
			require.Error(t, err)
			got := errorLines(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	i := strings.Index(s, old)
	require.GreaterOrEqual(t, i, 0, "%q is not in the scenario", old)
	return s[:i] + new + s[i+len(old):]
}

// A recovery with beyond passes only when it takes longer than that.
func TestEvaluateRecoveryBeyond(t *testing.T) {
	s := evalScenario(t, `assert:
  - recovery: {after: off, beyond: 2s, within: 4s, expect: error_rate < 1%, window: 2s}
`)
	revert := map[string]FaultTime{"off": {Injected: 5 * time.Second, Reverted: 10 * time.Second}}
	before := []int{0, 0, 0, 0, 0, 100, 100, 100, 100, 100}
	cases := []struct {
		name     string
		after    []int
		passed   bool
		observed string
	}{
		{"at once is too soon", []int{0, 0, 0, 0}, false, "0s"},
		{"at the lower bound is too soon", []int{50, 50, 0, 0, 0}, false, "2s"},
		{"between the bounds", []int{50, 50, 50, 0, 0, 0}, true, "3s"},
		{"too slow", []int{50, 50, 50, 50, 50, 0, 0, 0}, false, "5s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := &Observed{FaultTimes: revert, Series: series(append(append([]int{}, before...), tc.after...)...)}
			v := Evaluate(s, o)[0]
			assert.Equal(t, tc.passed, v.Passed)
			assert.Equal(t, tc.observed, v.Observed)
			assert.Equal(t, "error_rate < 1% on every tick for 2s, starting more than 2s and within 4s after the revert of off", v.Expected)
		})
	}
}
