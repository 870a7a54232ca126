package chaos_test

import (
	"context"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/agent"
	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/chaos"
	"github.com/natlab/natlab/testbed"
	tt "github.com/natlab/natlab/testbed/testbedtest"
)

// inProcEnv runs the agent of its one backend host, api, in the test
// process: every agent it starts has the test's pid, as a new agent in a
// container has the old one's (pid 1). Kill ends the agent; Restart
// starts another unless noRestart, when it keeps the one it has.
type inProcEnv struct {
	t         *testing.T
	spec      *testbed.Spec
	noRestart bool

	mu   sync.Mutex
	conn *wire.Conn
	end  func()
}

func newInProcEnv(t *testing.T) *inProcEnv {
	spec := tt.OneNAT(testbed.NATSpec{})
	spec.Normalize()
	e := &inProcEnv{t: t, spec: &spec}
	e.start()
	t.Cleanup(func() {
		e.mu.Lock()
		end := e.end
		e.mu.Unlock()
		end()
	})
	return e
}

func (e *inProcEnv) start() {
	runner, ag := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = agent.Run(ctx, agent.RoleBackend, "api", ag, ag)
	}()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.conn = wire.NewConn("api", runner, runner, nil)
	e.end = func() { cancel(); _ = runner.Close(); _ = ag.Close(); <-done }
}

func (e *inProcEnv) Agent(string) *wire.Conn {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.conn
}
func (e *inProcEnv) Host(string) testbed.Host { return e }
func (e *inProcEnv) Restart(context.Context, string) error {
	if !e.noRestart {
		e.start()
	}
	return nil
}
func (e *inProcEnv) Spec() *testbed.Spec     { return e.spec }
func (e *inProcEnv) Layout() *testbed.Layout { return nil }

// inProcEnv is also the host api.
func (e *inProcEnv) Name() string       { return "api" }
func (e *inProcEnv) Role() testbed.Role { return testbed.RoleBackend }
func (e *inProcEnv) StartAgent(context.Context, func(wire.Event)) (*wire.Conn, error) {
	panic("not used")
}
func (e *inProcEnv) Kill() error {
	if !e.noRestart {
		e.mu.Lock()
		end := e.end
		e.end = func() {}
		e.mu.Unlock()
		end()
	}
	return nil
}

// Verify tells the agents apart by their instance ids, not their pids: a
// restarted agent with the old pid (pid 1 in a container) passes, and an
// agent that was never replaced is named as such.
func TestKillVerifyComparesInstances(t *testing.T) {
	ctx := context.Background()
	t.Run("same pid, new agent", func(t *testing.T) {
		env := newInProcEnv(t)
		var before wire.Hello
		require.NoError(t, env.Agent("api").Call(ctx, wire.OpPing, nil, &before))
		for _, kind := range []string{"kill", "restart"} {
			f, err := chaos.New(kind, "api", env.Spec(), nil)
			require.NoError(t, err)
			require.NoError(t, f.Inject(ctx, env))
			require.NoError(t, f.Revert(ctx, env))
			require.NoError(t, f.Verify(ctx, env), kind)
		}
		var after wire.Hello
		require.NoError(t, env.Agent("api").Call(ctx, wire.OpPing, nil, &after))
		assert.Equal(t, before.PID, after.PID, "the agents share the test's pid")
		assert.NotEqual(t, before.Instance, after.Instance)
	})
	t.Run("never replaced", func(t *testing.T) {
		env := newInProcEnv(t)
		env.noRestart = true
		var hello wire.Hello
		require.NoError(t, env.Agent("api").Call(ctx, wire.OpPing, nil, &hello))
		require.NotEmpty(t, hello.Instance)
		f, err := chaos.New("kill", "api", env.Spec(), nil)
		require.NoError(t, err)
		require.NoError(t, f.Inject(ctx, env))
		require.NoError(t, f.Revert(ctx, env))
		err = f.Verify(ctx, env)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "agent of api is still instance "+hello.Instance+": it was never killed")
	})
}
