package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/natlab/natlab/agent/servers"
	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/testbed/service"
)

// backendRole runs the servers of a backend host.
type backendRole struct {
	mu      sync.Mutex
	servers []*servers.Server
	ctx     context.Context
	cancel  context.CancelFunc
}

func (b *backendRole) register(h wire.Handlers) {
	b.ctx, b.cancel = context.WithCancel(context.Background())
	h[wire.OpBackendStart] = func(_ context.Context, args json.RawMessage, _ wire.Emitter) (any, error) {
		var specs []service.Spec
		if err := wire.Decode(args, &specs); err != nil {
			return nil, err
		}
		backlog := 0
		for _, s := range specs {
			backlog = max(backlog, s.Backlog)
		}
		if err := raiseListenQueues(backlog); err != nil {
			return nil, err
		}
		for _, s := range specs {
			srv, err := servers.Start(b.ctx, s)
			if err != nil {
				return nil, fmt.Errorf("start %s: %w", s.Name, err)
			}
			b.mu.Lock()
			b.servers = append(b.servers, srv)
			b.mu.Unlock()
		}
		return nil, nil
	}
	h[wire.OpBackendStats] = func(_ context.Context, args json.RawMessage, _ wire.Emitter) (any, error) {
		var opts wire.BackendStatsArgs
		if len(args) > 0 && string(args) != "null" {
			if err := wire.Decode(args, &opts); err != nil {
				return nil, err
			}
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		out := make([]service.Stats, 0, len(b.servers))
		overflows, drops, _ := listenDrops() // zero when unreadable
		for _, s := range b.servers {
			st := s.Stats()
			st.ListenOverflows, st.ListenDrops = overflows, drops
			out = append(out, st)
			if opts.ResetPeaks {
				s.ResetPeaks()
			}
		}
		return out, nil
	}
	h[wire.OpBackendControl] = func(_ context.Context, args json.RawMessage, _ wire.Emitter) (any, error) {
		var c wire.BackendControl
		if err := wire.Decode(args, &c); err != nil {
			return nil, err
		}
		return nil, b.control(c)
	}
}

func (b *backendRole) control(c wire.BackendControl) error {
	var stall, latency time.Duration
	var err error
	if c.StallFor != nil {
		if stall, err = time.ParseDuration(*c.StallFor); err != nil {
			return fmt.Errorf("stall_for: %w", err)
		}
	}
	if c.Saturate != nil && c.Saturate.Latency != "" {
		if latency, err = time.ParseDuration(c.Saturate.Latency); err != nil {
			return fmt.Errorf("saturate latency: %w", err)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	matched := false
	for _, s := range b.servers {
		if c.Server != "" && s.Spec().Name != c.Server {
			continue
		}
		matched = true
		if c.StallFor != nil {
			s.Stall(stall)
		}
		if c.Reset != nil {
			s.SetReset(*c.Reset)
		}
		if c.Saturate != nil {
			s.Saturate(c.Saturate.Limit, latency)
		}
	}
	if !matched {
		return fmt.Errorf("no server %q on this backend", c.Server)
	}
	return nil
}

func (b *backendRole) close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	for _, s := range b.servers {
		errs = append(errs, s.Close())
	}
	if b.cancel != nil {
		b.cancel()
	}
	return errors.Join(errs...)
}
