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
