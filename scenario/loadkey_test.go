package scenario

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Every loadgen.Plan field a load sets is mapped to the key it is
// written as (positions: see the load cases of invalid_test.go).
func TestLoadKeysOfPlanFields(t *testing.T) {
	cases := []struct {
		path  string
		spike bool
		key   string
	}{
		{"phases[0].schedule.rate", false, "rate"},
		{"phases[0].schedule.rate", true, "spike.rate"},
		{"phases[0].schedule.spike_rate", true, "spike.to"},
		{"phases[3].schedule.spike_at", true, "spike"},
		{"phases[0].schedule.spike_for", true, "spike"},
		{"phases[0].schedule.from", false, "ramp.from"},
		{"phases[0].schedule.to", false, "ramp.to"},
		{"phases[0].schedule.hold", false, "hold"},
		{"phases[0].schedule.concurrency", false, "concurrency"},
		{"phases[0].schedule.kind", false, ""},
		{"strategy.kind", false, "strategy"},
		{"strategy.pool", false, "pool"},
		{"strategy.pool_size", false, "pool_size"},
		{"strategy.pool_per", false, "pool_per"},
		{"strategy.local_ports", false, "local_ports"},
		{"max_in_flight", false, "max_in_flight"},
		{"source_pick", false, "source_pick"},
		{"sources[2]", false, "sources[2]"},
		{"[0]", false, ""},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.key, loadKey(tc.path, tc.spike), tc.path)
	}
}
