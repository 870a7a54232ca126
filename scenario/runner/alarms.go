package runner

import (
	"strings"
	"sync"
	"time"

	"github.com/natlab/natlab/scenario"
	"github.com/natlab/natlab/testbed/sampler"
)

// alarmSet judges the scenario's alarms on every tick, as a monitoring
// system would, and remembers when each first fired.
type alarmSet struct {
	mu     sync.Mutex
	alarms []scenario.Alarm
	since  map[string]time.Duration // breached continuously since
	fired  map[string]time.Duration
}

func newAlarms(a []scenario.Alarm) *alarmSet {
	return &alarmSet{alarms: a, since: map[string]time.Duration{}, fired: map[string]time.Duration{}}
}

// check judges one tick and returns the alarms that fired for the first time.
func (s *alarmSet) check(at time.Duration, c ClientTick, n sampler.Sample) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var fired []string
	for _, a := range s.alarms {
		v, ok := tickValue(a.Metric, c, n)
		if !ok || !a.Breached(v) {
			delete(s.since, a.Name)
			continue
		}
		from, breached := s.since[a.Name]
		if !breached {
			from = at
			s.since[a.Name] = at
		}
		if _, done := s.fired[a.Name]; !done && at-from >= a.For {
			s.fired[a.Name] = at
			fired = append(fired, a.Name)
		}
	}
	return fired
}

// states returns each alarm's state for the assertions.
func (s *alarmSet) states() map[string]scenario.AlarmState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]scenario.AlarmState{}
	for _, a := range s.alarms {
		at, fired := s.fired[a.Name]
		out[a.Name] = scenario.AlarmState{Fired: fired, FirstFired: at}
	}
	return out
}

// tickValue is a live metric's value at one tick (see scenario's alarm
// metrics); ok is false when the tick has nothing to judge it on.
func tickValue(metric string, c ClientTick, n sampler.Sample) (float64, bool) {
	tick := c.Interval.Seconds()
	switch metric {
	case "attempts":
		return float64(c.Attempts), true
	case "ok":
		return float64(c.OK()), true
	case "errors":
		return float64(c.Errors()), true
	case "error_rate":
		ended := c.OK() + c.Errors()
		if ended == 0 {
			return 0, false
		}
		return float64(c.Errors()) / float64(ended), true
	case "throughput":
		if tick <= 0 {
			return 0, false
		}
		return float64(c.OK()) / tick, true
	case "open_conns":
		return float64(c.OpenConns), true
	case "connect.p99":
		return float64(c.ConnectP99), true
	case "request.p99":
		return float64(c.RequestP99), true
	case "nat.allocation_failures":
		// Per tick, as the alarm's other NAT metrics.
		return n.Metric("nat.allocation_failures_delta")
	case "nat.dropped_sent_packets_count", "nat.new_connections_count",
		"nat.ErrorPortAllocation", "nat.PacketsDropCount", "nat.ConnectionAttemptCount",
		"nat.ConnectionEstablishedCount", "nat.IdleTimeoutCount":
		return n.Metric(metric + "_delta")
	}
	if r, ok := strings.CutPrefix(metric, "nat.dropped_sent_packets_count."); ok {
		return n.Metric("nat.dropped_sent_packets_count." + r + "_delta")
	}
	if strings.HasPrefix(metric, "nat.") {
		return n.Metric(metric)
	}
	return 0, false
}
