package wire

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Handler answers one operation. It may run for a long time (a load run)
// and may send events through emit while it does.
type Handler func(ctx context.Context, args json.RawMessage, emit Emitter) (any, error)

// Emitter sends an event line to the runner.
type Emitter func(event string, data any)

// Handlers maps operation names to their handlers.
type Handlers map[string]Handler

// Serve answers requests read from r on w until r ends or ctx is done.
// Each request runs in its own goroutine; Serve waits for all of them
// (they see ctx cancelled once r ends) before it returns.
func Serve(ctx context.Context, r io.Reader, w io.Writer, h Handlers) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wmu sync.Mutex
	write := func(m message) {
		line, err := json.Marshal(m)
		if err != nil {
			line, _ = json.Marshal(message{ID: m.ID, Error: "encode answer: " + err.Error()})
		}
		wmu.Lock()
		defer wmu.Unlock()
		_, _ = w.Write(append(line, '\n'))
	}
	emit := func(event string, data any) {
		raw, err := json.Marshal(data)
		if err != nil {
			return
		}
		write(message{Event: event, Data: raw})
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 64*1024*1024)
	for sc.Scan() {
		var m message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return fmt.Errorf("read request: %w", err)
		}
		handler, ok := h[m.Op]
		if !ok {
			write(message{ID: m.ID, Error: fmt.Sprintf("unknown operation %q", m.Op)})
			continue
		}
		wg.Add(1)
		go func(m message) {
			defer wg.Done()
			res, err := handler(ctx, m.Args, emit)
			if err != nil {
				write(message{ID: m.ID, Error: err.Error()})
				return
			}
			raw, err := json.Marshal(res)
			if err != nil {
				write(message{ID: m.ID, Error: "encode result: " + err.Error()})
				return
			}
			write(message{ID: m.ID, Result: raw})
		}(m)
	}
	cancel()
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read request: %w", err)
	}
	return nil
}

// Decode unmarshals handler args into v, with a short error context.
func Decode(args json.RawMessage, v any) error {
	if len(args) == 0 || string(args) == "null" {
		return nil
	}
	if err := json.Unmarshal(args, v); err != nil {
		return fmt.Errorf("decode args: %w", err)
	}
	return nil
}
