package wire

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pair connects a Conn to Serve through two pipes.
func pair(t *testing.T, h Handlers, onEvent func(Event)) (*Conn, func()) {
	t.Helper()
	toAgent, fromRunner := io.Pipe()
	toRunner, fromAgent := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Serve(context.Background(), toAgent, fromAgent, h)
		fromAgent.Close()
	}()
	c := NewConn("test", toRunner, fromRunner, onEvent)
	return c, func() {
		fromRunner.Close()
		require.NoError(t, <-done)
		<-c.Done()
	}
}

func TestCallsEventsAndErrors(t *testing.T) {
	var mu sync.Mutex
	var events []Event
	h := Handlers{
		"echo": func(_ context.Context, args json.RawMessage, emit Emitter) (any, error) {
			var s string
			if err := Decode(args, &s); err != nil {
				return nil, err
			}
			emit("seen", s)
			return s + "!", nil
		},
		"fail": func(context.Context, json.RawMessage, Emitter) (any, error) {
			return nil, errors.New("it broke")
		},
	}
	c, stop := pair(t, h, func(e Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	})
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out string
			in := string(rune('a' + i%26))
			assert.NoError(t, c.Call(context.Background(), "echo", in, &out))
			assert.Equal(t, in+"!", out)
		}()
	}
	wg.Wait()
	err := c.Call(context.Background(), "fail", nil, nil)
	var re *RemoteError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "test: fail: it broke", err.Error())
	err = c.Call(context.Background(), "nope", nil, nil)
	assert.ErrorContains(t, err, `unknown operation "nope"`)
	stop()
	mu.Lock()
	assert.Len(t, events, 50)
	assert.Equal(t, "seen", events[0].Name)
	mu.Unlock()
	assert.ErrorIs(t, c.Call(context.Background(), "echo", "x", nil), ErrClosed)
}

func TestCallEndsWhenTheAgentDies(t *testing.T) {
	release := make(chan struct{})
	h := Handlers{"block": func(ctx context.Context, _ json.RawMessage, _ Emitter) (any, error) {
		<-release
		return nil, nil
	}}
	toAgent, fromRunner := io.Pipe()
	toRunner, fromAgent := io.Pipe()
	go func() { _ = Serve(context.Background(), toAgent, fromAgent, h) }()
	c := NewConn("test", toRunner, fromRunner, nil)
	errc := make(chan error, 1)
	go func() { errc <- c.Call(context.Background(), "block", nil, nil) }()
	time.Sleep(50 * time.Millisecond)
	fromAgent.Close() // the agent's stdout goes away, as when it is killed
	select {
	case err := <-errc:
		assert.ErrorIs(t, err, ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("call did not end when the agent went away")
	}
	close(release)
	fromRunner.Close()
}
