package scenario

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// Every loadgen.Plan field a load sets is mapped to the key it was
// written as, and placed at that key.
func TestLoadKeysOfPlanFields(t *testing.T) {
	parse := func(src string) *mapping {
		var doc yaml.Node
		require.NoError(t, yaml.Unmarshal([]byte(src), &doc))
		p := &parser{errs: &collector{file: "t"}}
		return p.mapping(doc.Content[0], "load", nil)
	}
	spike := parse("{spike: {rate: 1/s, to: 5/s, at: 1s, for: 2s}, pool: none}")
	ramp := parse("{strategy: h2c,\n ramp: {from: 1/s, to: 5/s}}")
	cases := []struct {
		m    *mapping
		path string
		key  string
		pos  string
	}{
		{spike, "phases[0].schedule.rate", "spike.rate", "1:10"},
		{spike, "phases[0].schedule.spike_rate", "spike.to", "1:21"},
		{spike, "phases[3].schedule.spike_at", "spike", "1:2"},
		{spike, "phases[0].schedule.spike_for", "spike", "1:2"},
		{spike, "strategy.pool", "pool", "1:48"},
		{spike, "phases[0].schedule.kind", "", "1:1"},
		{ramp, "phases[0].schedule.from", "ramp.from", "2:9"},
		{ramp, "phases[0].schedule.to", "ramp.to", "2:20"},
		{ramp, "strategy.kind", "strategy", "1:2"},
		{ramp, "strategy.pool_size", "pool_size", "1:1"}, // not written: the load
		{ramp, "max_in_flight", "max_in_flight", "1:1"},
	}
	for _, tc := range cases {
		key := loadKey(tc.path, tc.m)
		assert.Equal(t, tc.key, key, tc.path)
		pos := posOf(tc.m.node)
		if key != "" {
			pos = keyPosIn(tc.m, key)
		}
		assert.Equal(t, tc.pos, pos.String(), tc.path)
	}
}
