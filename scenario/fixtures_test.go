package scenario_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/chaos"
	"github.com/natlab/natlab/fixtures"
	"github.com/natlab/natlab/scenario"
)

// TestFixturesParse keeps the embedded incident scenarios valid with the
// real fault catalog.
func TestFixturesParse(t *testing.T) {
	names := fixtures.Scenarios()
	require.NotEmpty(t, names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			data, file, err := fixtures.Scenario(name)
			require.NoError(t, err)
			s, err := scenario.Parse(file, data, scenario.Options{Faults: chaos.Catalog{}, FS: fixtures.FS()})
			require.NoError(t, err)
			assert.NotEmpty(t, s.Phases)
			assert.NotEmpty(t, s.Asserts, "an incident scenario judges its run")
		})
	}
}

// The incident 003 fixtures differ where the incident says they do: the
// surge and its cause share the dependency's capacity, and the cause
// varies only the redundancy; the fixed variant has one request per
// registration and four times the capacity.
func TestHolepunchFixturesVaryWhatTheIncidentSays(t *testing.T) {
	parse := func(name string) *scenario.Scenario {
		data, file, err := fixtures.Scenario(name)
		require.NoError(t, err)
		s, err := scenario.Parse(file, data, scenario.Options{Faults: chaos.Catalog{}, FS: fixtures.FS()})
		require.NoError(t, err)
		return s
	}
	redundancy := func(s *scenario.Scenario, phase string) int {
		for _, ph := range s.Phases {
			if ph.Name == phase {
				require.Len(t, ph.Loads, 1)
				return ph.Loads[0].Strategy.Redundancy
			}
		}
		t.Fatalf("%s has no phase %s", s.Name, phase)
		return 0
	}
	surge, cause, fixed := parse("holepunch-surge"), parse("holepunch-surge-cause"), parse("holepunch-surge-fixed")
	dep := surge.Testbed.Backends[0].Dependency
	assert.Equal(t, 8, dep.Concurrency)
	assert.Equal(t, dep, cause.Testbed.Backends[0].Dependency, "the cause runs on the incident's capacity")
	assert.Equal(t, 4*dep.Concurrency, fixed.Testbed.Backends[0].Dependency.Concurrency)
	assert.Equal(t, dep.Latency, fixed.Testbed.Backends[0].Dependency.Latency)
	assert.Equal(t, 5, redundancy(surge, "surge"))
	assert.Equal(t, 1, redundancy(fixed, "surge"))
	assert.Equal(t, 1, redundancy(cause, "surge-redundancy-1"))
	assert.Equal(t, 5, redundancy(cause, "surge-redundancy-5"))
	r1, r5 := cause.Phases[0].Loads[0], cause.Phases[2].Loads[0]
	r1.Strategy.Redundancy, r1.Pos, r5.Pos = 5, scenario.Pos{}, scenario.Pos{}
	assert.Equal(t, r5, r1, "the two surges of the cause differ only in redundancy")
	assert.Equal(t, cause.Phases[0].Duration, cause.Phases[2].Duration)
}
