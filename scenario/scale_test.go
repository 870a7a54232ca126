package scenario_test

import (
	"strings"
	"testing"

	"github.com/natlab/natlab/chaos"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/scenario"
)

// A backend runs as many server processes as the most connections a
// phase holds to it need (at most MaxConnsPerAgent each), and a backlog
// set on purpose reaches its spec.
func TestBackendProcessesFollowPeakConnections(t *testing.T) {
	src := strings.Replace(strings.TrimSuffix(refuseBase, "faults:\n"), "  - {name: p1, duration: 20s, load: {rate: 10/s}}",
		"  - {name: p1, duration: 20s, load: {hold: 20000}}\n  - {name: p2, duration: 20s, load: {hold: 66000}}\n  - {name: p3, duration: 20s, load: {target: reg, hold: 100}}", 1)
	src = strings.Replace(src, "{name: reg, protocol: registrar, port: 9000}", "{name: reg, protocol: registrar, port: 9000, backlog: 128}", 1)
	m := scenario.Machine{MemAvailable: 24 << 30, OpenFiles: 20000, CPUs: 2}
	s, err := scenario.Parse("s.yaml", []byte(src), scenario.Options{Faults: chaos.Catalog{}, Machine: &m})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]int{}
	for _, b := range s.Testbed.Backends {
		got[b.Name] = [2]int{b.EffectiveProcesses(), b.Backlog}
	}
	if got["api"] != [2]int{5, 0} || got["reg"] != [2]int{1, 128} {
		t.Errorf("backends (processes, backlog) = %v, want api (5, 0): 66,000 / 15,000 rounded up, reg (1, 128)", got)
	}
}

// hold: {conns: N, ramp: R/s} opens N connections at rate R; hold: N
// opens them at once.
func TestHoldRampParses(t *testing.T) {
	phase := func(load string) string {
		return strings.Replace(strings.TrimSuffix(refuseBase, "faults:\n"), "load: {rate: 10/s}", "load: "+load, 1)
	}
	m := scenario.Machine{MemAvailable: 24 << 30, OpenFiles: 20000, CPUs: 2}
	opts := scenario.Options{Faults: chaos.Catalog{}, Machine: &m}
	s, err := scenario.Parse("s.yaml", []byte(phase("{hold: {conns: 66000, ramp: 5000/s}}")), opts)
	if err != nil {
		t.Fatal(err)
	}
	sc := s.Phases[0].Loads[0].Schedule
	if sc.Hold != 66000 || sc.HoldRamp != loadgen.RatePerSecond(5000) {
		t.Errorf("schedule = hold %d ramp %v, want 66000 at 5000/s", sc.Hold, sc.HoldRamp)
	}
	if got := s.Testbed.Backends[0].EffectiveProcesses(); got != 5 {
		t.Errorf("backend api runs %d processes, want 5 for 66,000 connections", got)
	}
	for _, tc := range []struct{ load, want string }{
		{"{hold: {conns: 1000, ramp: 10/s}}", "load.hold.ramp"},
		{"{hold: {ramp: 10/s}}", "hold has no conns"},
		{"{hold: {conns: 10, ramp: fast}}", "hold.ramp"},
		{"{hold: {conns: 10, rmp: 10/s}}", "rmp"},
	} {
		_, err := scenario.Parse("s.yaml", []byte(phase(tc.load)), opts)
		t.Logf("%s: %v", tc.load, err)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("load %s: err = %v, want one naming %q", tc.load, err, tc.want)
		}
	}
}
