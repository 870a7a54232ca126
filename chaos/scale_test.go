package chaos_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/service"
)

// A backend served by several processes: saturate caps the dependency
// in every one of them and the revert lifts it in every one; a restart
// brings every process back and Verify sees the same servers.
func TestBackendFaultsActOnEveryProcess(t *testing.T) {
	t.Parallel()
	tb, env := up(t, oneNAT(testbed.NATSpec{}, testbed.BackendSpec{Name: "reg", Protocol: service.Registrar, Port: 8080, Processes: 3}))
	ctx := context.Background()
	limits := func() []int {
		var out []int
		for _, a := range tb.Agents("reg") {
			var st []service.Stats
			require.NoError(t, a.Call(ctx, wire.OpBackendStats, nil, &st))
			require.Len(t, st, 1)
			out = append(out, st[0].Dependency.Limit)
		}
		return out
	}
	f := newFault(t, env, "saturate", "reg", map[string]any{"limit": 2, "latency": "1s"})
	require.NoError(t, f.Inject(ctx, env))
	assert.Equal(t, []int{2, 2, 2}, limits(), "every process is saturated")
	require.NoError(t, f.Revert(ctx, env))
	require.NoError(t, f.Verify(ctx, env))
	assert.Equal(t, []int{0, 0, 0}, limits(), "every process is reverted")

	// One process saturated behind the fault's back after its revert:
	// Verify sees the processes disagree (the restart below clears it).
	require.NoError(t, tb.Agents("reg")[1].Call(ctx, wire.OpBackendControl, wire.BackendControl{Saturate: &wire.Saturation{Limit: 7, Latency: "1s"}}, nil))
	err := f.Verify(ctx, env)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "disagree")

	r := newFault(t, env, "restart", "reg", nil)
	require.NoError(t, r.Inject(ctx, env))
	require.NoError(t, r.Verify(ctx, env))
	assert.Len(t, tb.Agents("reg"), 3, "the restart brings back every process")
	assert.Equal(t, []int{0, 0, 0}, limits())
}
