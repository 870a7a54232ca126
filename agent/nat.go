package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/natlab/natlab/agent/droprules"
	"github.com/natlab/natlab/agent/natbox"
	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/testbed/natcfg"
)

// natRole runs the NAT box of its namespace.
type natRole struct {
	mu  sync.Mutex
	box *natbox.Box
}

func (n *natRole) register(h wire.Handlers) {
	h[wire.OpNATSetup] = func(_ context.Context, args json.RawMessage, _ wire.Emitter) (any, error) {
		var s wire.NATSetup
		if err := wire.Decode(args, &s); err != nil {
			return nil, err
		}
		if _, err := applySysctls(s.Sysctls); err != nil {
			return nil, fmt.Errorf("nat sysctls: %w", err)
		}
		return nil, n.apply(s.Config)
	}
	h[wire.OpNATApply] = func(_ context.Context, args json.RawMessage, _ wire.Emitter) (any, error) {
		var cfg natcfg.Config
		if err := wire.Decode(args, &cfg); err != nil {
			return nil, err
		}
		return nil, n.apply(cfg)
	}
	h[wire.OpNATMetrics] = func(context.Context, json.RawMessage, wire.Emitter) (any, error) {
		b, err := n.open()
		if err != nil {
			return nil, err
		}
		return b.Metrics()
	}
	h[wire.OpNATFlush] = func(_ context.Context, args json.RawMessage, _ wire.Emitter) (any, error) {
		var f natcfg.FlushFilter
		if err := wire.Decode(args, &f); err != nil {
			return nil, err
		}
		b, err := n.open()
		if err != nil {
			return nil, err
		}
		return b.Flush(f)
	}
	h[wire.OpNATChange] = func(_ context.Context, args json.RawMessage, _ wire.Emitter) (any, error) {
		var cfg natcfg.Config
		if err := wire.Decode(args, &cfg); err != nil {
			return nil, err
		}
		b, err := n.open()
		if err != nil {
			return nil, err
		}
		return b.Change(cfg)
	}
	h[wire.OpNATVMs] = func(_ context.Context, args json.RawMessage, _ wire.Emitter) (any, error) {
		var ch natcfg.VMChange
		if err := wire.Decode(args, &ch); err != nil {
			return nil, err
		}
		b, err := n.open()
		if err != nil {
			return nil, err
		}
		return b.VMs(ch)
	}
	h[wire.OpNATObserved] = func(context.Context, json.RawMessage, wire.Emitter) (any, error) {
		b, err := n.open()
		if err != nil {
			return nil, err
		}
		return b.Observed()
	}
	h[wire.OpNATConfig] = func(context.Context, json.RawMessage, wire.Emitter) (any, error) {
		b, err := n.open()
		if err != nil {
			return nil, err
		}
		cfg, ok := b.Config()
		if !ok {
			return nil, errors.New("no nat config applied")
		}
		return cfg, nil
	}
	h[wire.OpDropInstall] = func(_ context.Context, args json.RawMessage, _ wire.Emitter) (any, error) {
		var s wire.DropRule
		if err := wire.Decode(args, &s); err != nil {
			return nil, err
		}
		return nil, droprules.Install(s)
	}
	h[wire.OpDropRemove] = func(_ context.Context, args json.RawMessage, _ wire.Emitter) (any, error) {
		var chain string
		if err := wire.Decode(args, &chain); err != nil {
			return nil, err
		}
		return droprules.Remove(chain)
	}
	h[wire.OpDropSnapshot] = func(context.Context, json.RawMessage, wire.Emitter) (any, error) {
		return droprules.Snapshot()
	}
	h[wire.OpNATSnapshot] = func(context.Context, json.RawMessage, wire.Emitter) (any, error) {
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

func (n *natRole) apply(cfg natcfg.Config) error {
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
