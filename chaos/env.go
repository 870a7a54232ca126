package chaos

import (
	"context"
	"sync"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/testbed"
)

// TestbedEnv adapts a running testbed to Env. It serializes restarts with
// agent look-ups, so a sampler may ask for agents while a fault restarts
// one.
func TestbedEnv(tb *testbed.Testbed) Env { return &tbEnv{tb: tb} }

type tbEnv struct {
	mu sync.RWMutex
	tb *testbed.Testbed
}

func (e *tbEnv) Agent(host string) *wire.Conn {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.tb.Agent(host)
}

func (e *tbEnv) Host(host string) testbed.Host {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.tb.Host(host)
}

func (e *tbEnv) Restart(ctx context.Context, host string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.tb.Restart(ctx, host)
}

func (e *tbEnv) Spec() *testbed.Spec     { return e.tb.Run.Spec }
func (e *tbEnv) Layout() *testbed.Layout { return e.tb.Run.Layout }
