package chaos

import (
	"context"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/testbed"
)

// TestbedEnv adapts a running testbed to Env. The testbed itself keeps
// agent look-ups safe while a fault restarts one.
func TestbedEnv(tb *testbed.Testbed) Env { return tbEnv{tb: tb} }

type tbEnv struct{ tb *testbed.Testbed }

func (e tbEnv) Agent(host string) *wire.Conn                   { return e.tb.Agent(host) }
func (e tbEnv) Agents(host string) []*wire.Conn                { return e.tb.Agents(host) }
func (e tbEnv) Host(host string) testbed.Host                  { return e.tb.Host(host) }
func (e tbEnv) Restart(ctx context.Context, host string) error { return e.tb.Restart(ctx, host) }
func (e tbEnv) Spec() *testbed.Spec                            { return e.tb.Run.Spec }
func (e tbEnv) Layout() *testbed.Layout                        { return e.tb.Run.Layout }
