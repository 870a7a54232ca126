package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/natlab/natlab/agent/natbox"
	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/testbed/natcfg"
)

// common registers the operations every role answers. Each call is one
// agent instance, with an id of its own.
func common(h wire.Handlers, host, role string) {
	hello := wire.Hello{Host: host, Role: role, PID: os.Getpid(), Instance: newInstanceID(), Kernel: wire.Kernel()}
	h[wire.OpPing] = func(context.Context, json.RawMessage, wire.Emitter) (any, error) {
		return hello, nil
	}
	h[wire.OpSysctlSet] = func(_ context.Context, args json.RawMessage, _ wire.Emitter) (any, error) {
		var set []natcfg.Sysctl
		if err := wire.Decode(args, &set); err != nil {
			return nil, err
		}
		return applySysctls(set)
	}
	h[wire.OpSysctlGet] = func(_ context.Context, args json.RawMessage, _ wire.Emitter) (any, error) {
		var keys []string
		if err := wire.Decode(args, &keys); err != nil {
			return nil, err
		}
		out := map[string]string{}
		for _, k := range keys {
			v, err := natbox.GetSysctl(k)
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	}
	h[wire.OpLinkSet] = func(ctx context.Context, args json.RawMessage, _ wire.Emitter) (any, error) {
		var st wire.LinkState
		if err := wire.Decode(args, &st); err != nil {
			return nil, err
		}
		link, err := netlink.LinkByName(st.Interface)
		if err != nil {
			return nil, fmt.Errorf("find interface %s: %w", st.Interface, err)
		}
		if st.Up {
			err = netlink.LinkSetUp(link)
		} else {
			err = netlink.LinkSetDown(link)
		}
		if err != nil {
			return nil, fmt.Errorf("set %s up=%v: %w", st.Interface, st.Up, err)
		}
		if st.Up {
			return nil, waitCarrier(ctx, st.Interface)
		}
		return nil, nil
	}
	h[wire.OpLinkGet] = func(_ context.Context, args json.RawMessage, _ wire.Emitter) (any, error) {
		var name string
		if err := wire.Decode(args, &name); err != nil {
			return nil, err
		}
		link, err := netlink.LinkByName(name)
		if err != nil {
			return nil, fmt.Errorf("find interface %s: %w", name, err)
		}
		return wire.LinkState{Interface: name, Up: link.Attrs().Flags&1 != 0}, nil
	}
}

// newInstanceID is 16 random hex digits, drawn once per agent.
func newInstanceID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b[:])
}

// applySysctls sets each key in order and returns the values it replaced,
// so a caller can restore them. A key marked IgnoreError may fail.
func applySysctls(set []natcfg.Sysctl) ([]natcfg.Sysctl, error) {
	var prev []natcfg.Sysctl
	for _, s := range set {
		old, err := natbox.SetSysctl(s.Key, s.Value)
		if err != nil {
			if s.IgnoreError {
				continue
			}
			return prev, err
		}
		prev = append(prev, natcfg.Sysctl{Key: s.Key, Value: old})
	}
	return prev, nil
}

// carrierWait bounds the wait for carrier after a link comes back up.
const carrierWait = 3 * time.Second

// waitCarrier returns once an interface set up carries traffic again: the
// kernel turns carrier on (linkwatch) up to a second after the
// administrative up, and the far end of the wire (a bridge port) learns
// of it through the same linkwatch, batched once a second.
func waitCarrier(ctx context.Context, name string) error {
	deadline := time.Now().Add(carrierWait)
	for {
		l, err := netlink.LinkByName(name)
		if err != nil {
			return fmt.Errorf("find %s: %w", name, err)
		}
		if l.Attrs().OperState == netlink.OperUp {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s is administratively up but its operational state is still %s after %s", name, l.Attrs().OperState, carrierWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
