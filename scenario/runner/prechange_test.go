package runner

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/chaos"
	"github.com/natlab/natlab/reports"
	"github.com/natlab/natlab/testbed/sampler"
)

// A nat-config fault's pre-change check takes its NAT's last reading the
// box took before the inject was due (a tick due before it whose reading
// came late, after it, is not one; nor is a reading taken while the
// change ran, before its marker), with a Cloud NAT's
// port_usage and allocated_ports of the VM with the most; a fault
// injected before any reading gets none, a failed reading is skipped.
func TestPreChangeReading(t *testing.T) {
	start := time.Date(2026, 6, 16, 7, 45, 0, 0, time.UTC)
	at := func(s float64) *time.Time {
		t := start.Add(time.Duration(s * float64(time.Second)))
		return &t
	}
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	gcp := func(usage, alloc int) *sampler.GCPSample {
		return &sampler.GCPSample{PortUsage: map[string]int{"198.18.0.2": 0, "198.18.0.128": usage},
			AllocatedPorts: map[string]int{"198.18.0.2": alloc, "198.18.0.128": alloc}}
	}
	tick := func(due, read, util float64, g *sampler.GCPSample, err string) sampler.Sample {
		return sampler.Sample{At: sec(due), NATs: []sampler.NATSample{{Host: "nat", ReadAt: sec(read), PortUtilization: util, GCP: g, Err: err},
			{Host: "other", ReadAt: sec(read), PortUtilization: 0.9}}}
	}
	ticks := []sampler.Sample{
		{At: sec(5), NATs: []sampler.NATSample{{Host: "nat", ReadAt: sec(5.01), PortUtilization: 0.1}}},
		tick(24, 24.02, 0.5, gcp(64, 64), ""),
		tick(25, 25.03, 0.5, gcp(63, 64), ""),
		tick(26, 26.9, 0.28, gcp(80, 256), ""), // due before the inject, read after it
		tick(27, 27.01, 0.28, gcp(80, 256), ""),
		tick(30, 30.01, 0, nil, "agent gone"),
		tick(31, 31.01, 0.28, gcp(80, 256), ""),
	}
	// The remediation was due at 26.5 s and done at 27.5 s: the reading
	// at 27.01 s came while it ran.
	markers := []chaos.Marker{
		{Fault: "remediate", Event: chaos.EventInject, Planned: sec(26.5), At: sec(27.5)},
		{Fault: "first", Event: chaos.EventInject, Planned: sec(10), At: sec(10)},
		{Fault: "early", Event: chaos.EventInject, Planned: sec(1), At: sec(1)},
		{Fault: "remediate", Event: chaos.EventRevert, Planned: sec(40), At: sec(40)},
	}
	rep := &reports.Report{Started: start,
		Faults: []reports.Fault{
			{Name: "remediate", Kind: "nat-config", Host: "nat", InjectedAt: at(27.5), Effects: &reports.ConnectionEffects{PredictedResets: 260}},
			{Name: "first", Kind: "nat-config", Host: "nat", InjectedAt: at(10), Effects: &reports.ConnectionEffects{}},
			{Name: "early", Kind: "nat-config", Host: "nat", InjectedAt: at(1), Effects: &reports.ConnectionEffects{}},
			{Name: "flush", Kind: "conntrack-flush", Host: "nat", InjectedAt: at(26)},
		}}
	preChange(rep, ticks, markers)
	b := rep.Faults[0].Effects.Before
	require.NotNil(t, b)
	assert.Equal(t, 25.03, b.T)
	assert.Equal(t, 0.5, b.PortUtilization)
	require.NotNil(t, b.PortUsage)
	assert.Equal(t, 63, *b.PortUsage)
	assert.Equal(t, 64, *b.AllocatedPorts)
	// A linux NAT's reading has no Cloud NAT figures.
	f := rep.Faults[1].Effects.Before
	require.NotNil(t, f)
	assert.Equal(t, 5.01, f.T)
	assert.Nil(t, f.PortUsage)
	assert.Nil(t, rep.Faults[2].Effects.Before, "no reading before 1 s")
	assert.Nil(t, rep.Faults[3].Effects)
}
