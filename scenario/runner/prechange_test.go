package runner

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/reports"
)

// A nat-config fault's pre-change check takes its NAT's last reading
// strictly before the inject (a reading of the same second might have
// been taken after the change), and a Cloud NAT's port_usage and
// allocated_ports with it; a fault injected before any reading gets none.
func TestPreChangeReading(t *testing.T) {
	start := time.Date(2026, 6, 16, 7, 45, 0, 0, time.UTC)
	at := func(s float64) *time.Time {
		t := start.Add(time.Duration(s * float64(time.Second)))
		return &t
	}
	row := func(t, util float64, usage, alloc int) reports.Sample {
		return reports.Sample{T: t, NAT: map[string]reports.NATSample{"nat": {PortUtilization: util,
			GCP: &reports.GCPMetrics{PortUsage: usage, AllocatedPorts: alloc}}}}
	}
	rep := &reports.Report{Started: start,
		Samples: []reports.Sample{row(24, 0.5, 64, 64), row(25, 0.5, 63, 64), row(26, 0.28, 80, 256), row(27, 0.28, 80, 256)},
		Faults: []reports.Fault{
			{Name: "remediate", Kind: "nat-config", Host: "nat", InjectedAt: at(26), Effects: &reports.ConnectionEffects{PredictedResets: 260}},
			{Name: "first", Kind: "nat-config", Host: "nat", InjectedAt: at(10), Effects: &reports.ConnectionEffects{}},
			{Name: "early", Kind: "nat-config", Host: "nat", InjectedAt: at(1), Effects: &reports.ConnectionEffects{}},
			{Name: "flush", Kind: "conntrack-flush", Host: "nat", InjectedAt: at(26)},
		}}
	rep.Samples = append([]reports.Sample{{T: 5, NAT: map[string]reports.NATSample{"nat": {PortUtilization: 0.1}}}}, rep.Samples...)
	preChange(rep)
	b := rep.Faults[0].Effects.Before
	require.NotNil(t, b)
	assert.Equal(t, 25.0, b.T)
	assert.Equal(t, 0.5, b.PortUtilization)
	require.NotNil(t, b.PortUsage)
	assert.Equal(t, 63, *b.PortUsage)
	assert.Equal(t, 64, *b.AllocatedPorts)
	// A linux NAT's reading has no Cloud NAT figures.
	f := rep.Faults[1].Effects.Before
	require.NotNil(t, f)
	assert.Equal(t, 5.0, f.T)
	assert.Nil(t, f.PortUsage)
	assert.Nil(t, rep.Faults[2].Effects.Before, "no reading before 1 s")
	assert.Nil(t, rep.Faults[3].Effects)
}
