package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/natlab/natlab/chaos/droprules"
	"github.com/natlab/natlab/testbed/natbox"
)

// natRole runs the NAT box of its namespace.
type natRole struct {
	mu  sync.Mutex
	box *natbox.Box
}

func (n *natRole) register(h Handlers) {
	h[OpNATSetup] = func(_ context.Context, args json.RawMessage, _ Emitter) (any, error) {
		var s NATSetup
		if err := Decode(args, &s); err != nil {
			return nil, err
		}
		if _, err := applySysctls(s.Sysctls); err != nil {
			return nil, fmt.Errorf("nat sysctls: %w", err)
		}
		return nil, n.apply(s.Config)
	}
	h[OpNATApply] = func(_ context.Context, args json.RawMessage, _ Emitter) (any, error) {
		var cfg natbox.Config
		if err := Decode(args, &cfg); err != nil {
			return nil, err
		}
		return nil, n.apply(cfg)
	}
	h[OpNATMetrics] = func(context.Context, json.RawMessage, Emitter) (any, error) {
		b, err := n.open()
		if err != nil {
			return nil, err
		}
		return b.Metrics()
	}
	h[OpNATFlush] = func(_ context.Context, args json.RawMessage, _ Emitter) (any, error) {
		var f natbox.FlushFilter
		if err := Decode(args, &f); err != nil {
			return nil, err
		}
		b, err := n.open()
		if err != nil {
			return nil, err
		}
		return b.Flush(f)
	}
	h[OpDropInstall] = func(_ context.Context, args json.RawMessage, _ Emitter) (any, error) {
		var s droprules.Spec
		if err := Decode(args, &s); err != nil {
			return nil, err
		}
		return nil, droprules.Install(s)
	}
	h[OpDropRemove] = func(_ context.Context, args json.RawMessage, _ Emitter) (any, error) {
		var chain string
		if err := Decode(args, &chain); err != nil {
			return nil, err
		}
		return droprules.Remove(chain)
	}
	h[OpDropSnapshot] = func(context.Context, json.RawMessage, Emitter) (any, error) {
		return droprules.Snapshot()
	}
	h[OpNATSnapshot] = func(context.Context, json.RawMessage, Emitter) (any, error) {
		b, err := n.open()
		if err != nil {
			return nil, err
		}
		return b.Snapshot()
	}
}

func (n *natRole) open() (*natbox.Box, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.box == nil {
		b, err := natbox.Open()
		if err != nil {
			return nil, fmt.Errorf("open nat box: %w", err)
		}
		n.box = b
	}
	return n.box, nil
}

func (n *natRole) apply(cfg natbox.Config) error {
	b, err := n.open()
	if err != nil {
		return err
	}
	if err := b.Apply(cfg); err != nil {
		return fmt.Errorf("apply nat config: %w", err)
	}
	return nil
}

func (n *natRole) close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.box == nil {
		return nil
	}
	return n.box.Close()
}
