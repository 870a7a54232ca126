package sampler

import (
	"fmt"
	"time"
)

// Alarm fires when a sampled metric crosses a threshold.
type Alarm struct {
	// Name labels the alarm.
	Name string `json:"name"`
	// Metric is a name Sample.Metric knows, e.g. nat.port_utilization.
	Metric string `json:"metric"`
	// Above fires on value > Threshold; otherwise on value < Threshold.
	Above     bool    `json:"above"`
	Threshold float64 `json:"threshold"`
}

// breached reports whether v crosses the threshold.
func (a Alarm) breached(v float64) bool {
	if a.Above {
		return v > a.Threshold
	}
	return v < a.Threshold
}

func (a Alarm) String() string {
	op := "<"
	if a.Above {
		op = ">"
	}
	return fmt.Sprintf("%s: %s %s %g", a.Name, a.Metric, op, a.Threshold)
}

// AlarmState is an alarm and what it saw.
type AlarmState struct {
	Alarm
	// Fired is set once the alarm fired; FirstFired is the time since the
	// sampler start of the first sample that breached it, and Value the
	// metric's value then.
	Fired      bool          `json:"fired"`
	FirstFired time.Duration `json:"first_fired"`
	Value      float64       `json:"value"`
	// Firing is whether the latest sample breaches it.
	Firing bool `json:"firing"`
}
