package agent

import (
	"context"
	"encoding/json"
	"errors"
	"sync"

	"github.com/natlab/natlab/agent/apphost"
	"github.com/natlab/natlab/agent/wire"
)

// appRole runs an app host's service (package apphost).
type appRole struct {
	mu  sync.Mutex
	app *apphost.App
}

func (a *appRole) register(h wire.Handlers) {
	h[wire.OpAppStart] = func(_ context.Context, args json.RawMessage, _ wire.Emitter) (any, error) {
		var s wire.AppStart
		if err := wire.Decode(args, &s); err != nil {
			return nil, err
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.app != nil {
			return nil, errors.New("app: already started")
		}
		app, err := apphost.Start(s)
		if err != nil {
			return nil, err
		}
		a.app = app
		return nil, nil
	}
	h[wire.OpAppStats] = func(context.Context, json.RawMessage, wire.Emitter) (any, error) {
		a.mu.Lock()
		app := a.app
		a.mu.Unlock()
		if app == nil {
			return wire.AppStats{}, nil
		}
		return app.Stats()
	}
	h[wire.OpAppHealth] = func(ctx context.Context, args json.RawMessage, _ wire.Emitter) (any, error) {
		var hc wire.HealthCheck
		if err := wire.Decode(args, &hc); err != nil {
			return nil, err
		}
		if err := CheckTarget(hc.Target); err != nil {
			return nil, err
		}
		return apphost.Check(ctx, hc), nil
	}
}

func (a *appRole) close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.app == nil {
		return nil
	}
	return a.app.Close()
}
