package chaos_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/sampler"
)

// A restart fault replaces a host's agent while the sampler reads it every
// tick straight from the testbed, as the runner's sampler does. Under -race
// this fails if the testbed's agents map is written without its lock; without -race it still checks that sampling carries on
// through the restarts and reads the new agents afterwards.
func TestRestartWhileSamplerRuns(t *testing.T) {
	t.Parallel()
	tb, env := up(t, oneNAT(testbed.NATSpec{}))
	s, err := sampler.New(tb, sampler.Options{Tick: 10 * time.Millisecond, NATs: []string{"nat"}, Backends: []string{"api"}})
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = s.Run(ctx, time.Now(), nil)
	}()
	const rounds = 4
	for i := range rounds {
		for _, host := range []string{"nat", "api"} {
			f := newFault(t, env, "restart", host, nil)
			require.NoError(t, f.Inject(ctx, env), "restart %s, round %d", host, i)
			require.NoError(t, f.Revert(ctx, env))
			require.NoError(t, f.Verify(ctx, env))
			// Sampling goes on between restarts: wait for a sample taken
			// wholly after this one (the one under way may have begun
			// before it), instead of counting on the clock.
			after := len(s.Samples())
			require.Eventually(t, func() bool { return len(s.Samples()) > after+1 }, 10*time.Second, 5*time.Millisecond,
				"the sampler stopped ticking after restarting %s, round %d", host, i)
		}
	}
	stop()
	wg.Wait()

	samples := s.Samples()
	last := samples[len(samples)-1]
	require.Len(t, last.NATs, 1)
	require.Len(t, last.Backends, 1)
	assert.Empty(t, last.NATs[0].Err, "the NAT is read through its new agent")
	assert.Empty(t, last.Backends[0].Err, "the backend is read through its new agent")
	assert.True(t, last.NATs[0].IPForward, "the restarted NAT agent set the box up again")
}
