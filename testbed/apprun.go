package testbed

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/natlab/natlab/agent/wire"
)

// appBootWait bounds the wait at Up for every app host to serve: with
// egress working the first config fetch succeeds at once. A host that
// does not serve by then (a gated candidate broke its NAT) goes on
// booting; the run measures what its callers see.
const appBootWait = 10 * time.Second

// startApp starts the service of app host name: it boots in the
// background (config fetch through the NAT, then the listener).
func (t *Testbed) startApp(ctx context.Context, name string) error {
	a, ok := t.Run.Spec.App(name)
	if !ok {
		return fmt.Errorf("unknown app host %q", name)
	}
	dep, ok := t.Run.Layout.Backend(a.Dependency)
	if !ok {
		return fmt.Errorf("app %s: unknown dependency %q", a.Name, a.Dependency)
	}
	s := wire.AppStart{
		Listen:      fmt.Sprintf("0.0.0.0:%d", a.Port),
		Dependency:  fmt.Sprintf("%s:%d", dep.Addr, a.DependencyPort),
		PerRequest:  a.Calls == CallsPerRequest || a.Calls == CallsPooled,
		CallPool:    a.CallPool,
		CallTimeout: a.CallTimeout, BootTimeout: a.Boot.Timeout, BootBackoff: a.Boot.Backoff,
		BootFactor: a.Boot.Factor, BootMaxBackoff: a.Boot.MaxBackoff,
	}
	if err := t.Agent(name).Call(ctx, wire.OpAppStart, s, nil); err != nil {
		return fmt.Errorf("start app host %s: %w", name, err)
	}
	return nil
}

// AppStats reads the counters of app host name's current agent.
func (t *Testbed) AppStats(ctx context.Context, name string) (wire.AppStats, error) {
	var st wire.AppStats
	a := t.Agent(name)
	if a == nil {
		return st, fmt.Errorf("no agent on %s", name)
	}
	err := a.Call(ctx, wire.OpAppStats, nil, &st)
	return st, err
}

// HealthCheck has app host name check its app's health endpoint through
// its NAT, as the cloud's health check would.
func (t *Testbed) HealthCheck(ctx context.Context, name string) (wire.HealthResult, error) {
	a, ok := t.Run.Spec.App(name)
	if !ok {
		return wire.HealthResult{}, fmt.Errorf("unknown app host %q", name)
	}
	be, ok := t.Run.Layout.Backend(a.Health)
	if !ok {
		return wire.HealthResult{}, fmt.Errorf("app %s: unknown health backend %q", a.Name, a.Health)
	}
	agent := t.Agent(name)
	if agent == nil {
		return wire.HealthResult{}, fmt.Errorf("no agent on %s", name)
	}
	var res wire.HealthResult
	err := agent.Call(ctx, wire.OpAppHealth, wire.HealthCheck{Target: fmt.Sprintf("%s:%d", be.Addr, a.HealthPort), Timeout: a.Check.Timeout}, &res)
	return res, err
}

// startApps starts every app host and waits until each serves, or
// appBootWait has passed.
func (t *Testbed) startApps(ctx context.Context) error {
	var names []string
	for _, a := range t.Run.Spec.Apps {
		names = append(names, a.HostNames()...)
	}
	for _, n := range names {
		if err := t.startApp(ctx, n); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(appBootWait)
	for _, n := range names {
		for {
			st, err := t.AppStats(ctx, n)
			if err != nil {
				return fmt.Errorf("app host %s: %w", n, err)
			}
			if st.Serving {
				break
			}
			if time.Now().After(deadline) {
				fmt.Fprintf(t.Run.Log, "%s: does not serve %s after it started: %d config fetches through the NAT failed; the run goes on\n", n, appBootWait, st.BootAttempts)
				break
			}
			select {
			case <-ctx.Done():
				return errors.Join(ctx.Err(), fmt.Errorf("app host %s was still booting", n))
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}
