package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"sync"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/loadgen"
)

// clientRole runs load plans from its host's source addresses.
type clientRole struct {
	mu      sync.Mutex
	next    int
	running map[int]context.CancelFunc
}

func (c *clientRole) register(h wire.Handlers) {
	c.running = map[int]context.CancelFunc{}
	h[wire.OpLoadRun] = func(ctx context.Context, args json.RawMessage, emit wire.Emitter) (any, error) {
		var plan loadgen.Plan
		if err := wire.Decode(args, &plan); err != nil {
			return nil, err
		}
		if err := CheckTarget(plan.Target); err != nil {
			return nil, err
		}
		ctx, cancel := context.WithCancel(ctx)
		c.mu.Lock()
		c.next++
		id := c.next
		c.running[id] = cancel
		c.mu.Unlock()
		defer func() {
			c.mu.Lock()
			delete(c.running, id)
			c.mu.Unlock()
			cancel()
		}()
		res, err := loadgen.Run(ctx, plan, func(s loadgen.Sample) { emit(wire.EventSample, s) })
		if err != nil && res != nil && ctx.Err() != nil {
			// Stopped early (load.stop, or the agent going away): the
			// partial result is the answer, its accounting exact.
			return res, res.Check()
		}
		return res, err
	}
	// load.stop ends every running load early; each load.run then answers
	// with its result so far, its accounting exact.
	h[wire.OpLoadStop] = func(context.Context, json.RawMessage, wire.Emitter) (any, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, cancel := range c.running {
			cancel()
		}
		return len(c.running), nil
	}
}

// benchmarkRange is RFC 2544's 198.18.0.0/15, where every testbed lives.
var benchmarkRange = netip.MustParsePrefix("198.18.0.0/15")

// CheckTarget refuses load to anything but loopback or the benchmark range
// the testbeds use: natlab never sends load anywhere else.
func CheckTarget(target string) error {
	ap, err := netip.ParseAddrPort(target)
	if err != nil {
		return fmt.Errorf("target %q: want IP:PORT of a testbed host: %w", target, err)
	}
	if a := ap.Addr().Unmap(); !a.IsLoopback() && !benchmarkRange.Contains(a) {
		return fmt.Errorf("target %s is outside the testbed (198.18.0.0/15) and loopback: refused", target)
	}
	return nil
}
