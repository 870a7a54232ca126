package scenario

import (
	"time"

	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
)

// Scenario is a validated scenario file: the testbed to build, the load of
// each phase, the faults to inject, the alarms to watch and the assertions
// that judge the run.
type Scenario struct {
	// Name identifies the scenario (default: the file name without extension).
	Name string `json:"name"`
	// Description says what the scenario reproduces.
	Description string `json:"description,omitempty"`
	// Incident is the number of the incident report the scenario belongs
	// to ("001"), empty for none.
	Incident string `json:"incident,omitempty"`
	// Kind is what the scenario is to its incident: KindIncident, KindFix,
	// KindGate or KindDemo (empty when not given).
	Kind string `json:"kind,omitempty"`
	// File is the name the scenario was parsed from.
	File string `json:"file"`
	// Testbed is the normalized topology.
	Testbed testbed.Spec `json:"testbed"`
	// Tick is the sampling interval (default loadgen.DefaultTick).
	Tick time.Duration `json:"tick"`
	// Phases run one after another.
	Phases []Phase `json:"phases"`
	// Faults are injected and reverted on the run's timeline.
	Faults []Fault `json:"faults,omitempty"`
	// Alarms are watched on every tick.
	Alarms []Alarm `json:"alarms,omitempty"`
	// Asserts judge the run once it is over.
	Asserts []Assertion `json:"asserts,omitempty"`
	// NATChange is what a NAT config candidate (Options.NATConfig)
	// changed; nil without one.
	NATChange *NATChange `json:"nat_change,omitempty"`
}

// Duration is the length of the run: the sum of the phase durations.
func (s *Scenario) Duration() time.Duration {
	var d time.Duration
	for _, p := range s.Phases {
		d += p.Duration
	}
	return d
}

// PhaseStart returns the offset from the start of the run at which the
// named phase begins, and whether the phase exists.
func (s *Scenario) PhaseStart(name string) (time.Duration, bool) {
	var d time.Duration
	for _, p := range s.Phases {
		if p.Name == name {
			return d, true
		}
		d += p.Duration
	}
	return 0, false
}

// Phase is a named stretch of the run with the loads that run during it.
type Phase struct {
	Name     string        `json:"name"`
	Duration time.Duration `json:"duration"`
	// Loads run at the same time; none means an idle phase.
	Loads []LoadSpec `json:"loads,omitempty"`
	Pos   Pos        `json:"pos"`
}

// LoadSpec is one load generator of a phase, compiled to loadgen values.
type LoadSpec struct {
	// Client is the client host that runs it; "" means every client host.
	Client string `json:"client,omitempty"`
	// Target is the backend it talks to, Port one of that backend's listeners.
	Target string `json:"target"`
	Port   uint16 `json:"port"`
	// App is true when Target is an app tier (testbed.apps) rather than
	// a backend: the load runs on the client hosts of the app's block,
	// which call its hosts directly, not through the NAT.
	App bool `json:"app,omitempty"`
	// Strategy and Schedule say how and when attempts are made.
	Strategy loadgen.Strategy `json:"strategy"`
	Schedule loadgen.Schedule `json:"schedule"`
	// SourcePick, ConnectTimeout, RequestTimeout and MaxInFlight are the
	// loadgen.Plan fields of the same names (zero = loadgen's default).
	SourcePick     string        `json:"source_pick,omitempty"`
	ConnectTimeout time.Duration `json:"connect_timeout,omitempty"`
	RequestTimeout time.Duration `json:"request_timeout,omitempty"`
	MaxInFlight    int           `json:"max_in_flight,omitempty"`
	Pos            Pos           `json:"pos"`
}

// Plan returns the loadgen plan of this load for one phase, without target
// address or sources: the runner fills those in from the testbed layout.
func (l LoadSpec) Plan(phase string, d time.Duration, tick time.Duration) loadgen.Plan {
	return loadgen.Plan{
		SourcePick:     l.SourcePick,
		Strategy:       l.Strategy,
		Phases:         []loadgen.Phase{{Name: phase, Duration: d, Schedule: l.Schedule}},
		Tick:           tick,
		ConnectTimeout: l.ConnectTimeout,
		RequestTimeout: l.RequestTimeout,
		MaxInFlight:    l.MaxInFlight,
	}
}

// Fault is one fault on the run's timeline. Params holds every key of the
// fault besides the common ones, checked by the FaultCatalog, and Built is
// what the catalog built of them.
type Fault struct {
	Name string `json:"name"`
	// At is the injection time since the start of the run.
	At time.Duration `json:"at"`
	// For is how long the fault lasts; 0 means until the end of the run.
	For    time.Duration  `json:"for,omitempty"`
	Kind   string         `json:"kind"`
	Host   string         `json:"host"`
	Params map[string]any `json:"params,omitempty"`
	Pos    Pos            `json:"pos"`
	// Built is the fault the catalog built from the fields above (with
	// natlab's catalog, a chaos.Fault). The runner injects this value
	// rather than building it again; it carries the state of one run, so
	// parse the file again for another.
	Built any `json:"-"`
}

// Alarm fires when a live metric crosses a threshold (for at least For).
type Alarm struct {
	Name   string `json:"name"`
	Metric string `json:"metric"`
	// Above is true for "above: X", false for "below: X".
	Above bool `json:"above"`
	// Threshold is in the metric's unit (fractions for ratios,
	// nanoseconds for latencies).
	Threshold float64       `json:"threshold"`
	For       time.Duration `json:"for,omitempty"`
	Pos       Pos           `json:"pos"`
}

// Breached reports whether the value v of the alarm's metric crosses the
// threshold.
func (a Alarm) Breached(v float64) bool {
	if a.Above {
		return v > a.Threshold
	}
	return v < a.Threshold
}

// Assertion judges the run: either an expression over one phase (or the
// whole run when Phase is ""), or a recovery after a fault.
type Assertion struct {
	// Name is the label of its verdict (default: the expression).
	Name string `json:"name"`
	// Phase restricts Expect to one phase; "" is the whole run.
	Phase string `json:"phase,omitempty"`
	// Expect is the condition (of a recovery: the per-tick condition).
	Expect Expr `json:"expect"`
	// Recovery is set for recovery assertions.
	Recovery *Recovery `json:"recovery,omitempty"`
	Pos      Pos       `json:"pos"`
}

// Recovery asks that after the fault After is reverted, Expect holds on
// every tick of some Window that starts within Within of the revert.
type Recovery struct {
	After  string        `json:"after"`
	Within time.Duration `json:"within"`
	Window time.Duration `json:"window"`
	// Beyond, when set, asks that the recovery take longer than this:
	// that the run has not recovered within Beyond of the revert (as
	// when restarted hosts back off waiting for egress).
	Beyond time.Duration `json:"beyond,omitempty"`
}
