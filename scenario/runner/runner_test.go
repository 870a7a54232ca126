package runner

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/reports"
	"github.com/natlab/natlab/scenario"
	"github.com/natlab/natlab/testbed/sampler"
)

func natAt(util float64) sampler.Sample {
	return sampler.Sample{NATs: []sampler.NATSample{{Host: "nat", PortUtilization: util, IPForward: true}}}
}

// An alarm fires only once its metric has been breached for its `for`,
// and remembers when it first fired.
func TestAlarmFiresAfterItsFor(t *testing.T) {
	s := newAlarms([]scenario.Alarm{
		{Name: "ports", Metric: "nat.port_utilization", Above: true, Threshold: 0.8, For: 2 * time.Second},
		{Name: "errors", Metric: "error_rate", Above: true, Threshold: 0.1},
	})
	sec := time.Second
	quiet := ClientTick{Interval: sec, Outcomes: map[loadgen.Outcome]uint64{loadgen.OutcomeOK: 10}}
	assert.Empty(t, s.check(1*sec, quiet, natAt(0.9)))
	assert.Empty(t, s.check(2*sec, quiet, natAt(0.5)), "a dip resets the for window")
	assert.Empty(t, s.check(3*sec, quiet, natAt(0.9)))
	assert.Empty(t, s.check(4*sec, quiet, natAt(0.95)))
	assert.Equal(t, []string{"ports"}, s.check(5*sec, quiet, natAt(0.99)))
	assert.Empty(t, s.check(6*sec, quiet, natAt(0.99)), "fires once")
	bad := ClientTick{Interval: sec, Outcomes: map[loadgen.Outcome]uint64{loadgen.OutcomeOK: 5, loadgen.OutcomeConnectTimeout: 5}}
	assert.Equal(t, []string{"errors"}, s.check(7*sec, bad, natAt(0.1)))
	st := s.states()
	assert.Equal(t, scenario.AlarmState{Fired: true, FirstFired: 5 * sec}, st["ports"])
	assert.Equal(t, scenario.AlarmState{Fired: true, FirstFired: 7 * sec}, st["errors"])
}

// Samples of several agents land in the same tick of the run's timeline,
// offset by the start of their phase.
func TestSeriesSumsAgentsOnTheRunTimeline(t *testing.T) {
	s := newSeries(time.Second, nil)
	s.phaseStarted("a", 0)
	s.phaseStarted("b", 10*time.Second)
	send := func(phase string, at time.Duration, ok, timeouts uint64, open int64) {
		raw, err := json.Marshal(loadgen.Sample{At: at, Interval: time.Second, Phase: phase, Attempts: ok + timeouts, OpenConns: open,
			Outcomes: map[loadgen.Outcome]uint64{loadgen.OutcomeOK: ok, loadgen.OutcomeConnectTimeout: timeouts}})
		require.NoError(t, err)
		s.onEvent(wire.Event{Name: wire.EventSample, Data: raw})
	}
	send("a", 1003*time.Millisecond, 10, 0, 3)
	send("a", 998*time.Millisecond, 5, 1, 4) // another agent, same tick
	send("b", 2001*time.Millisecond, 7, 2, 1)
	all := s.all()
	require.Len(t, all, 2)
	assert.Equal(t, time.Second, all[0].At)
	assert.Equal(t, uint64(15), all[0].OK())
	assert.Equal(t, uint64(1), all[0].Errors())
	assert.Equal(t, int64(7), all[0].OpenConns)
	assert.Equal(t, 12*time.Second, all[1].At, "phase b started 10 s into the run")
	assert.Equal(t, "b", all[1].Phase)
	assert.Equal(t, uint64(15), s.at(2*time.Second).OK(), "at() gives the tick before")
}

// One box or every box: failures and conntrack add up per tick, the
// highest utilization wins, a missing reading is a gap.
func TestNATStatsPerBoxAndForAll(t *testing.T) {
	sec := time.Second
	ticks := []sampler.Sample{
		{At: 1 * sec, NATs: []sampler.NATSample{
			{Host: "a", ConntrackEntries: 10, AllocationFailuresDelta: 2, PortUtilization: 0.5, IPForward: true},
			{Host: "b", ConntrackEntries: 30, AllocationFailuresDelta: 1, PortUtilization: 0.9, IPForward: false}}},
		{At: 2 * sec, NATs: []sampler.NATSample{
			{Host: "a", ConntrackEntries: 50, AllocationFailuresDelta: 3, PortUtilization: 0.7, IPForward: true},
			{Host: "b", Err: "agent killed"}}},
	}
	all := natStats(ticks, "", -1, wholeRun, sec)
	assert.Equal(t, scenario.NATStats{AllocationFailures: 6, PeakPortUtilization: 0.9, PeakConntrack: 50, IPForwardOff: sec}, all)
	a := natStats(ticks, "a", -1, wholeRun, sec)
	assert.Equal(t, scenario.NATStats{AllocationFailures: 5, PeakPortUtilization: 0.7, PeakConntrack: 50}, a)
	assert.Equal(t, uint64(3), natStats(ticks, "a", sec, 2*sec, sec).AllocationFailures, "window (1s, 2s]")
}

// A reading that started in a phase's last tick but read its counters
// after the next phase began (a loaded box answers late) holds the next
// phase's failures and utilization: it belongs to the window in which the
// box read, not the one in which it was asked.
func TestNATStatsPlacesALateReadingByWhenTheBoxRead(t *testing.T) {
	sec := time.Second
	ticks := []sampler.Sample{
		{At: 24 * sec, NATs: []sampler.NATSample{{Host: "nat", ReadAt: 24*sec + 10*time.Millisecond, PortUtilization: 0.73, IPForward: true}}},
		{At: 25 * sec, NATs: []sampler.NATSample{{Host: "nat", ReadAt: 25*sec + 800*time.Millisecond, AllocationFailuresDelta: 13, PortUtilization: 0.92, IPForward: true}}},
		{At: 26 * sec, NATs: []sampler.NATSample{{Host: "nat", AllocationFailuresDelta: 200, PortUtilization: 0.99, IPForward: true}}},
	}
	day := natStats(ticks, "", 0, 25*sec+50*time.Millisecond, sec)
	assert.Equal(t, scenario.NATStats{PeakPortUtilization: 0.73, PeakConntrack: 0}, day, "the day phase ends at 25.05 s")
	surge := natStats(ticks, "", 25*sec+50*time.Millisecond, 33*sec, sec)
	assert.Equal(t, uint64(213), surge.AllocationFailures)
	assert.Equal(t, 0.99, surge.PeakPortUtilization)
	assert.Equal(t, uint64(213), natStats(ticks, "", -1, wholeRun, sec).AllocationFailures, "the whole run has every reading once")
}

func TestSinceCountsARestartedCounterFromZero(t *testing.T) {
	now := scenario.BackendStats{Accepted: 10, Registrations: 4, DependencyPeakQueue: 5}
	was := scenario.BackendStats{Accepted: 3, Registrations: 90, DependencyPeakQueue: 9}
	got := now.Since(was)
	assert.Equal(t, uint64(7), got.Accepted)
	assert.Equal(t, uint64(4), got.Registrations, "the backend restarted and counted 4 since")
	assert.Equal(t, uint64(5), got.DependencyPeakQueue, "a peak is the one read at the end of the window")
	var run scenario.BackendStats
	run.Add(got)
	run.Add(scenario.BackendStats{Accepted: 1, DependencyPeakQueue: 2})
	assert.Equal(t, uint64(8), run.Accepted, "counters of phases add up")
	assert.Equal(t, uint64(5), run.DependencyPeakQueue, "the run's peak is its highest phase's")
}

// A hold opens connections of its own whatever the pool: it is split over
// agent processes by its size, like a closed schedule.
func TestAgentsForSplitsHolds(t *testing.T) {
	plan := func(s loadgen.Strategy, sc loadgen.Schedule) loadgen.Plan {
		return loadgen.Plan{Strategy: s, Phases: []loadgen.Phase{{Name: "p", Duration: time.Second, Schedule: sc}}}
	}
	pooled := loadgen.Strategy{Kind: loadgen.KindHTTP1, Pool: loadgen.PoolKeepAlive, PoolSize: 4}
	assert.Equal(t, 3, agentsFor(plan(pooled, loadgen.Schedule{Kind: loadgen.ScheduleHold, Hold: 40001})))
	assert.Equal(t, 3, agentsFor(plan(loadgen.Strategy{Kind: loadgen.KindH2C}, loadgen.Schedule{Kind: loadgen.ScheduleHold, Hold: 40001})))
	assert.Equal(t, 1, agentsFor(plan(pooled, loadgen.Schedule{Kind: loadgen.ScheduleClosed, Concurrency: 40001})), "a pool caps a closed schedule")
	assert.Equal(t, 2, agentsFor(plan(loadgen.Strategy{Kind: loadgen.KindTCP}, loadgen.Schedule{Kind: loadgen.ScheduleClosed, Concurrency: 15001})))
}

// A NAT reading taken late by over half a tick rounds onto the next
// one's row: the row keeps both rises and the peaks of their levels, so
// samples.csv still sums to the report's totals.
func TestLateNATReadingsShareARow(t *testing.T) {
	sec := time.Second
	r := &run{tick: sec, series: newSeries(sec, nil)}
	rows := r.samples([]sampler.Sample{
		{At: 2600 * time.Millisecond, NATs: []sampler.NATSample{{Host: "nat", ConntrackEntries: 90, AllocationFailuresDelta: 4, PortUtilization: 0.9, PortsInUse: 90, IPForward: true}}},
		{At: 3100 * time.Millisecond, NATs: []sampler.NATSample{{Host: "nat", ConntrackEntries: 70, AllocationFailuresDelta: 3, PortUtilization: 0.7, PortsInUse: 70, IPForward: true}}},
	})
	require.Len(t, rows, 1)
	assert.Equal(t, reports.NATSample{Conntrack: 90, AllocationFailures: 7, PortUtilization: 0.9, PortsInUse: 90, IPForward: true}, rows[0].NAT["nat"])
}
