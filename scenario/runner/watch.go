package runner

import (
	"github.com/natlab/natlab/chaos"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed/sampler"
)

// Watcher sees a run as it goes: what a live metrics endpoint serves. Its
// methods are called from the run's goroutines, concurrently, and must
// return quickly.
type Watcher interface {
	// Begin names the run once its testbed is up, before any load.
	Begin(RunInfo)
	// Sample takes every sample a load agent streams, as it arrives
	// (counts are deltas over the agent's tick).
	Sample(loadgen.Sample)
	// Tick takes every reading of the NAT boxes with the client tick that
	// ended before it, summed over agents.
	Tick(ClientTick, sampler.Sample)
	// Marker takes every fault inject, revert and verify.
	Marker(chaos.Marker)
}

// RunInfo names a run for a Watcher.
type RunInfo struct {
	RunID, Scenario string
	// NATs are the NAT boxes' names.
	NATs []string
	// Faults are the scenario's faults, none active yet.
	Faults []FaultInfo
}

// FaultInfo names one fault of the scenario.
type FaultInfo struct {
	Name, Kind, Host string
}

// runInfo describes r for its watcher.
func (r *run) runInfo() RunInfo {
	info := RunInfo{RunID: r.tb.Run.ID, Scenario: r.sc.Name}
	for _, n := range r.tb.Run.Spec.NATs {
		info.NATs = append(info.NATs, n.Name)
	}
	for _, f := range r.sc.Faults {
		info.Faults = append(info.Faults, FaultInfo{Name: f.Name, Kind: f.Kind, Host: f.Host})
	}
	return info
}

type nopWatcher struct{}

func (nopWatcher) Begin(RunInfo)                   {}
func (nopWatcher) Sample(loadgen.Sample)           {}
func (nopWatcher) Tick(ClientTick, sampler.Sample) {}
func (nopWatcher) Marker(chaos.Marker)             {}
