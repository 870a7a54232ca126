package testbed

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBackendProcessesAndBacklogBounds(t *testing.T) {
	for _, tc := range []struct {
		procs, backlog int
		want           string // substring; empty = valid
	}{
		{0, 0, ""},
		{5, 128, ""},
		{MaxBackendProcesses, 1 << 20, ""},
		{-1, 0, "backends[0].processes"},
		{MaxBackendProcesses + 1, 0, "backends[0].processes"},
		{1, -1, "backends[0].backlog"},
		{1, 1<<20 + 1, "backends[0].backlog"},
	} {
		s := validSpec()
		s.Backends[0].Processes, s.Backends[0].Backlog = tc.procs, tc.backlog
		s.Normalize()
		err := s.Validate()
		if tc.want == "" {
			assert.NoError(t, err, "processes %d backlog %d", tc.procs, tc.backlog)
			continue
		}
		require.Error(t, err, "processes %d backlog %d", tc.procs, tc.backlog)
		assert.Contains(t, err.Error(), tc.want)
	}
	b := BackendSpec{}
	assert.Equal(t, 1, b.EffectiveProcesses())
	assert.Equal(t, DefaultBacklog, b.EffectiveBacklog())
	b = BackendSpec{Processes: 3, Backlog: 128}
	assert.Equal(t, 3, b.EffectiveProcesses())
	assert.Equal(t, 128, b.EffectiveBacklog())
}
