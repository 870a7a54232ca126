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

// evalScenario parses validBase (a 10s phase p1) with extra sections.
func evalScenario(t *testing.T, extra string) *Scenario {
	t.Helper()
	src := validBase + `  - {name: p2, duration: 20s, load: {hold: 10}}
faults:
  - {name: off, at: 5s, for: 5s, kind: sysctl, set: {net.ipv4.ip_forward: 0}}
alarms:
  - {name: hot, metric: nat.port_utilization, above: 80%}
  - {name: quiet, metric: error_rate, above: 50%}
` + extra
	s, err := Parse("eval.yaml", []byte(src), Options{Faults: testCatalog{}})
	require.NoError(t, err)
	return s
}

func counts(ok uint64, other map[loadgen.Outcome]uint64) loadgen.Counts {
	c := loadgen.Counts{Outcomes: map[loadgen.Outcome]uint64{loadgen.OutcomeOK: ok}}
	for k, v := range other {
		c.Outcomes[k] = v
	}
	c.Attempts = c.Ended()
	return c
}

func hist(ds ...time.Duration) *loadgen.Histogram {
	h := loadgen.NewHistogram()
	for _, d := range ds {
		h.Record(d)
	}
	return h
}

func TestEvaluateMetrics(t *testing.T) {
	s := evalScenario(t, `assert:
  - {phase: p1, expect: error_rate < 1%}
  - {phase: p2, expect: error_rate < 1%}
  - {phase: p1, expect: attempts == 1000}
  - {phase: p1, expect: ok >= 995}
  - {phase: p1, expect: errors <= 2}
  - {phase: p1, expect: throughput > 99}
  - {phase: p1, expect: outcomes.connect_timeout == 3}
  - {phase: p1, expect: outcomes.reset == 0}
  - {phase: p2, expect: lost > 0}
  - {expect: connect.p99 < 50}
  - {expect: connect.max < 1s}
  - {expect: request.p50 <= 20ms}
  - {expect: request.mean > 1ms}
  - {expect: nat.allocation_failures > 0}
  - {expect: nat.peak_port_utilization >= 95%}
  - {expect: nat.peak_conntrack < 256}
  - {expect: nat.ip_forward_off_seconds >= 5}
  - {expect: backend.api.accepted > 100}
  - {expect: backend.api.registrations_failed_closed == 0}
  - {expect: alarm.hot.fired == true}
  - {expect: alarm.hot.fired_before_first_failure == true}
  - {expect: alarm.hot.first_fired < 7s}
  - {expect: alarm.quiet.fired == false}
  - {expect: alarm.quiet.fired_before_first_failure != true}
  - {expect: alarm.quiet.first_fired < 7s}
  - {phase: p2, expect: connect.p99 < 1s}
`)
	first := 8 * time.Second
	o := &Observed{
		Phases: map[string]Window{
			// 995 ok, 3 connect timeouts, 2 cancelled at the end: 3 errors
			// out of 998 that ended for a reason (0.3%).
			"p1": {Duration: 10 * time.Second, Counts: counts(995, map[loadgen.Outcome]uint64{
				loadgen.OutcomeConnectTimeout: 3, loadgen.OutcomeCancelled: 2})},
			"p2": {Duration: 20 * time.Second, Counts: func() loadgen.Counts {
				c := counts(10, map[loadgen.Outcome]uint64{loadgen.OutcomeConnectTimeout: 90})
				c.Lost = 4
				return c
			}()},
		},
		Run: Window{
			Duration: 30 * time.Second,
			Connect:  hist(time.Millisecond, 2*time.Millisecond, 30*time.Millisecond),
			Request:  hist(5*time.Millisecond, 10*time.Millisecond, 25*time.Millisecond),
			NAT: NATStats{AllocationFailures: 42, PeakPortUtilization: 1, PeakConntrack: 256,
				IPForwardOff: 5 * time.Second},
			Backends: map[string]BackendStats{"api": {Accepted: 1105}},
		},
		Alarms:       map[string]AlarmState{"hot": {Fired: true, FirstFired: 6 * time.Second}},
		FirstFailure: &first,
	}
	want := []struct {
		passed   bool
		observed string
	}{
		{true, "0.3006%"},
		{false, "90%"},
		{true, "1000"},
		{true, "995"},
		{false, "3"},
		{true, "99.5/s"},
		{true, "3"},
		{true, "0"},
		{true, "4"},
		{true, "30.015ms"},
		{true, "30.015ms"},
		{true, "10.007ms"},
		{true, "13.335ms"},
		{true, "42"},
		{true, "100%"},
		{false, "256"},
		{true, "5s"},
		{true, "1105"},
		{true, "0"},
		{true, "true"},
		{true, "true"},
		{true, "6s"},
		{true, "false"},
		{true, "false"},
		{false, `no data: alarm "quiet" never fired`},
		{false, "no data: no connect latency was recorded"},
	}
	got := Evaluate(s, o)
	require.Len(t, got, len(want))
	for i, w := range want {
		assert.Equal(t, w.passed, got[i].Passed, "%s: observed %s", got[i].Name, got[i].Observed)
		assert.Equal(t, w.observed, got[i].Observed, got[i].Name)
	}
	assert.Equal(t, "p1: error_rate < 1%", got[0].Name)
	assert.Equal(t, "error_rate < 1%", got[0].Expected)
	assert.Equal(t, s.Asserts[0].Pos, got[0].Pos)
}

func TestEvaluateMissingData(t *testing.T) {
	s := evalScenario(t, `assert:
  - {phase: p1, expect: error_rate < 1%}
  - {expect: error_rate < 1%}
  - {expect: backend.api.accepted > 0}
  - {expect: alarm.hot.fired_before_first_failure == true}
`)
	got := Evaluate(s, &Observed{Alarms: map[string]AlarmState{"hot": {Fired: true, FirstFired: time.Second}}})
	assert.Equal(t, Verdict{Name: "p1: error_rate < 1%", Passed: false, Observed: `no data: phase "p1" did not run`,
		Expected: "error_rate < 1%", Pos: s.Asserts[0].Pos}, got[0])
	assert.Equal(t, "no data: no attempt was made", got[1].Observed, "no traffic must not pass an error-rate bound")
	assert.False(t, got[1].Passed)
	assert.Equal(t, `no data: backend "api" reported no counters`, got[2].Observed)
	assert.True(t, got[3].Passed, "an alarm that fired in a run without failures fired before them")
}

// series builds one-second ticks from error rates in percent; a negative
// value is a tick in which no attempt ended.
func series(ratesPct ...int) []Point {
	out := make([]Point, len(ratesPct))
	for i, r := range ratesPct {
		p := Point{At: time.Duration(i+1) * time.Second}
		if r >= 0 {
			p.Errors = uint64(r)
			p.OK = uint64(100 - r)
			p.Attempts = 100
		}
		out[i] = p
	}
	return out
}

func TestEvaluateRecovery(t *testing.T) {
	s := evalScenario(t, `assert:
  - recovery: {after: off, within: 3s, expect: error_rate < 1%, window: 2s}
`)
	// The fault is reverted at 10s; ticks end at 1s, 2s, ... 30s.
	revert := map[string]FaultTime{"off": {Injected: 5 * time.Second, Reverted: 10 * time.Second}}
	before := []int{0, 0, 0, 0, 0, 100, 100, 100, 100, 100} // ticks ending 1s..10s
	cases := []struct {
		name     string
		after    []int // ticks ending 11s, 12s, ...
		passed   bool
		observed string
	}{
		{"at once", []int{0, 0, 0, 0}, true, "0s"},
		{"within", []int{50, 5, 0, 0, 0}, true, "2s"},
		{"exactly at the bound", []int{50, 5, 2, 0, 0, 0}, true, "3s"},
		{"too slow", []int{50, 50, 50, 50, 0, 0, 0}, false, "4s"},
		{"relapse restarts the window", []int{0, 3, 0, 0, 0}, true, "2s"},
		{"an idle tick is no evidence", []int{-1, -1, 0, 0}, true, "2s"},
		{"never", []int{50, 50, 50, 50, 50, 50}, false, "never"},
		{"the run ends inside the window", []int{9, 9, 0}, false, "never"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := &Observed{FaultTimes: revert, Series: series(append(append([]int{}, before...), tc.after...)...)}
			v := Evaluate(s, o)[0]
			assert.Equal(t, tc.passed, v.Passed)
			assert.Equal(t, tc.observed, v.Observed)
			assert.Equal(t, "error_rate < 1% on every tick for 2s, starting within 3s of the revert of off", v.Expected)
			assert.Equal(t, "recovery after off within 3s: error_rate < 1%", v.Name)
		})
	}
}

func TestEvaluateRecoveryUnalignedTicks(t *testing.T) {
	s := evalScenario(t, `assert:
  - recovery: {after: off, within: 1s, expect: throughput >= 90, window: 1s}
`)
	// Ticks end at 0.5s, 1.5s, ... The revert at 10.2s falls in the tick
	// (9.5s, 10.5s], mostly spent under the fault: it does not count, and
	// the next tick starts 300ms after the revert.
	var pts []Point
	for i := 0; i < 15; i++ {
		at := 500*time.Millisecond + time.Duration(i)*time.Second
		ok := uint64(100)
		if at <= 10500*time.Millisecond {
			ok = 0
		}
		pts = append(pts, Point{At: at, OK: ok, Attempts: 100, Errors: 100 - ok})
	}
	pts[0].OK = 50 // the first tick is half as long
	o := &Observed{FaultTimes: map[string]FaultTime{"off": {Injected: 5 * time.Second, Reverted: 10200 * time.Millisecond}}, Series: pts}
	v := Evaluate(s, o)[0]
	assert.True(t, v.Passed)
	assert.Equal(t, "300ms", v.Observed)

	o.FaultTimes = map[string]FaultTime{"off": {Injected: 5 * time.Second}}
	v = Evaluate(s, o)[0]
	assert.False(t, v.Passed)
	assert.Equal(t, `no data: fault "off" was never reverted`, v.Observed)
}

// Attempts still in flight at the end of a window have no outcome; they
// count against error_rate, so attempts that were lost cannot hide.
func TestErrorRateCountsAttemptsInFlight(t *testing.T) {
	s := evalScenario(t, "assert:\n  - {expect: error_rate < 10%}\n")
	var c loadgen.Counts
	c.Attempts = 10
	c.InFlight = 2
	c.Outcomes = map[loadgen.Outcome]uint64{loadgen.OutcomeOK: 8}
	got := Evaluate(s, &Observed{Run: Window{Duration: time.Second, Counts: c}})
	assert.False(t, got[0].Passed, "2 of 10 attempts never ended: %s", got[0].Observed)
	assert.Equal(t, "20%", got[0].Observed)
}

// lost.<class> reads the early ends of held connections by how they ended.
func TestLostByClass(t *testing.T) {
	s := evalScenario(t, "assert:\n  - {expect: lost.reset == 2}\n  - {expect: lost.closed == 0}\n")
	c := loadgen.Counts{Attempts: 5, Outcomes: map[loadgen.Outcome]uint64{loadgen.OutcomeOK: 5},
		Lost: 3, LostBy: map[loadgen.Outcome]uint64{loadgen.OutcomeReset: 2, loadgen.OutcomeReadTimeout: 1}}
	got := Evaluate(s, &Observed{Run: Window{Duration: time.Second, Counts: c}})
	assert.True(t, got[0].Passed, got[0].Observed)
	assert.True(t, got[1].Passed, got[1].Observed)
}

// first_failure and last_failure bound the run's failure window to the
// tick: the start of the first tick that saw a failure, the end of the
// last; a run without failures has no window, and new_conns reads the
// connections established.
func TestFailureWindowAndNewConns(t *testing.T) {
	s := evalScenario(t, "assert:\n  - {expect: first_failure == 3s}\n  - {expect: last_failure == 5s}\n  - {expect: new_conns == 7}\n")
	first := 3 * time.Second
	series := []Point{{At: time.Second}, {At: 2 * time.Second}, {At: 3 * time.Second},
		{At: 4 * time.Second, Errors: 2}, {At: 5 * time.Second, Errors: 1}, {At: 6 * time.Second}}
	c := loadgen.Counts{Attempts: 7, NewConns: 7, Outcomes: map[loadgen.Outcome]uint64{loadgen.OutcomeOK: 7}}
	got := Evaluate(s, &Observed{Run: Window{Duration: 6 * time.Second, Counts: c}, Series: series, FirstFailure: &first})
	for _, v := range got {
		assert.True(t, v.Passed, "%s: observed %s", v.Name, v.Observed)
	}
	assert.Equal(t, "3s", got[0].Observed)
	assert.Equal(t, "5s", got[1].Observed)

	got = Evaluate(s, &Observed{Run: Window{Duration: 6 * time.Second, Counts: c}, Series: series[:3]})
	assert.False(t, got[0].Passed)
	assert.Equal(t, "no data: no attempt failed", got[0].Observed)
}

// fault.<name>.* reads a nat-config fault's effects over the whole run;
// a fault never injected, or never reverted, has no data.
func TestEvaluateNATConfigEffects(t *testing.T) {
	src := validBase + `faults:
  - {name: lower, at: 2s, kind: nat-config, min_ports_per_vm: 64}
assert:
  - {expect: fault.lower.predicted_resets == 384}
  - {expect: fault.lower.observed_resets == 384}
  - {expect: fault.lower.predicted_dropped == 0}
  - {expect: fault.lower.observed_dropped == 0}
`
	s, err := Parse("eval.yaml", []byte(src), Options{Faults: natConfigCatalog{}})
	require.NoError(t, err)
	n, zero := 384, 0
	o := &Observed{Effects: map[string]FaultEffects{"lower": {PredictedResets: 384, ObservedResets: &n, ObservedDropped: &zero}}}
	for _, v := range Evaluate(s, o) {
		assert.True(t, v.Passed, "%s: %s", v.Expected, v.Observed)
	}
	o.Effects["lower"] = FaultEffects{PredictedResets: 384}
	v := Evaluate(s, o)
	assert.True(t, v[0].Passed)
	assert.Equal(t, `no data: fault "lower" was never reverted, so what it did was not read`, v[1].Observed)
	v = Evaluate(s, &Observed{})
	assert.Equal(t, `no data: fault "lower" was never injected`, v[0].Observed)
}

func TestEvaluateFailingAfterAndVMStarts(t *testing.T) {
	src := validBase + `faults:
  - {name: grow, at: 2s, kind: vm-start}
  - {name: fix, at: 4s, kind: nat-config}
assert:
  - {expect: fault.grow.waiting == 1}
  - {expect: fault.grow.allocated == 1}
  - {expect: fault.fix.failing_after == 2s}
  - {expect: fault.grow.failing_after == 4s}
`
	s, err := Parse("eval.yaml", []byte(src), Options{Faults: vmCatalog{}})
	require.NoError(t, err)
	// Failures in the ticks ending at 3 s and 6 s; none after.
	pts := []Point{{At: 1 * time.Second}, {At: 2 * time.Second}, {At: 3 * time.Second, Errors: 2}, {At: 4 * time.Second},
		{At: 5 * time.Second}, {At: 6 * time.Second, Errors: 1}, {At: 7 * time.Second}}
	o := &Observed{Series: pts, VMStarts: map[string]VMStart{"grow": {Allocated: 1, Waiting: 1}},
		FaultTimes: map[string]FaultTime{"grow": {Injected: 2 * time.Second}, "fix": {Injected: 4 * time.Second}}}
	for _, v := range Evaluate(s, o) {
		assert.True(t, v.Passed, "%s: %s", v.Expected, v.Observed)
	}
	// Nothing failed after the fix: 0.
	o.Series[5].Errors = 0
	v := Evaluate(s, o)
	assert.True(t, v[2].Passed == false && v[2].Observed == "0s", "%+v", v[2])
	assert.Equal(t, "1s", v[3].Observed)
	v = Evaluate(s, &Observed{})
	assert.Equal(t, `no data: fault "fix" was never injected`, v[2].Observed)
}

// client.<host>.* judge one client host's loads, not the others'.
func TestEvaluateClientMetrics(t *testing.T) {
	src := strings.Replace(validBase, "clients: {hosts: 1, addresses: 10}", "clients: [{name: web, addresses: 10}, {name: batch, addresses: 2}]", 1) + `assert:
  - {phase: p1, expect: client.web.errors == 0}
  - {phase: p1, expect: client.batch.errors == 3}
  - {phase: p1, expect: client.batch.error_rate == 30%}
  - {phase: p1, expect: client.batch.ok == 7}
  - {phase: p1, expect: client.web.attempts == 5}
`
	s, err := Parse("eval.yaml", []byte(src), Options{})
	require.NoError(t, err)
	web := loadgen.Counts{Attempts: 5, Outcomes: map[loadgen.Outcome]uint64{loadgen.OutcomeOK: 5}}
	batch := loadgen.Counts{Attempts: 10, Outcomes: map[loadgen.Outcome]uint64{loadgen.OutcomeOK: 7, loadgen.OutcomeConnectTimeout: 3}}
	o := &Observed{Phases: map[string]Window{"p1": {Clients: map[string]loadgen.Counts{"web": web, "batch": batch}}}}
	for _, v := range Evaluate(s, o) {
		assert.True(t, v.Passed, "%s: %s", v.Expected, v.Observed)
	}
	o.Phases["p1"] = Window{Clients: map[string]loadgen.Counts{"web": web}}
	assert.Equal(t, `no data: client host "batch" ran no load here`, Evaluate(s, o)[1].Observed)
}

// vmCatalog is testCatalog with the nat-config and vm-start kinds.
type vmCatalog struct{ testCatalog }

func (vmCatalog) Kinds() []string {
	return append(testCatalog{}.Kinds(), FaultKindNATConfig, FaultKindVMStart)
}

// natConfigCatalog is testCatalog with a nat-config kind.
type natConfigCatalog struct{ testCatalog }

func (natConfigCatalog) Kinds() []string { return append(testCatalog{}.Kinds(), FaultKindNATConfig) }

func (c natConfigCatalog) Build(kind, host string, spec *testbed.Spec, params map[string]any) (any, error) {
	if kind == FaultKindNATConfig {
		return &testFault{kind: kind, touches: []string{"snat"}}, nil
	}
	return c.testCatalog.Build(kind, host, spec, params)
}
