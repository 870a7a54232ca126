package scenario_test

import (
	"strings"
	"testing"

	"github.com/natlab/natlab/chaos"
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
