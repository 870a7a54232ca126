// Package apphost is the service an app host runs: it fetches its config
// from an outside dependency through the NAT when it starts (retrying
// with exponential backoff), and only then serves HTTP to the callers of
// its block; with per-request calls every inbound request calls the
// dependency too, and a failed call is a 502 to the caller. It also runs
// the health checks the runner's supervisor asks for, through the same
// NAT. It holds no kernel code: plain sockets and net/http.
package apphost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/natlab/natlab/agent/wire"
)

// App is one app host's service.
type App struct {
	spec    wire.AppStart
	started time.Time
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}

	attempts atomic.Int64
	requests atomic.Uint64
	failed   atomic.Uint64

	// pool carries the per-request calls when the spec pools them.
	pool *http.Client

	mu      sync.Mutex
	serving bool
	ready   time.Duration
	srv     *http.Server
	bootErr error
}

// Start boots the app in the background: config first, then the listener.
func Start(spec wire.AppStart) (*App, error) {
	if spec.Listen == "" || spec.Dependency == "" {
		return nil, errors.New("app: listen and dependency are required")
	}
	if spec.BootTimeout <= 0 || spec.BootBackoff <= 0 || spec.BootFactor < 1 || spec.CallTimeout <= 0 {
		return nil, fmt.Errorf("app: boot timeout %s, backoff %s, factor %g and call timeout %s must be positive (factor at least 1)",
			spec.BootTimeout, spec.BootBackoff, spec.BootFactor, spec.CallTimeout)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &App{spec: spec, started: time.Now(), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	if spec.CallPool > 0 {
		a.pool = &http.Client{Transport: &http.Transport{Proxy: nil,
			MaxConnsPerHost: spec.CallPool, MaxIdleConnsPerHost: spec.CallPool, IdleConnTimeout: 10 * time.Minute}}
	}
	go a.boot()
	return a, nil
}

// boot fetches the config until a fetch works, then listens.
func (a *App) boot() {
	defer close(a.done)
	wait := a.spec.BootBackoff
	for {
		a.attempts.Add(1)
		if err := get(a.ctx, a.spec.Dependency, a.spec.BootTimeout); err == nil {
			break
		}
		select {
		case <-a.ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = time.Duration(float64(wait) * a.spec.BootFactor)
		if a.spec.BootMaxBackoff > 0 && wait > a.spec.BootMaxBackoff {
			wait = a.spec.BootMaxBackoff
		}
	}
	ln, err := net.Listen("tcp", a.spec.Listen)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		a.bootErr = fmt.Errorf("app: listen on %s: %w", a.spec.Listen, err)
		return
	}
	a.srv = &http.Server{Handler: http.HandlerFunc(a.serve), ReadHeaderTimeout: 10 * time.Second}
	a.serving, a.ready = true, time.Since(a.started)
	go func() { _ = a.srv.Serve(ln) }()
}

// serve answers one inbound request; with per-request calls it calls the
// dependency first and answers 502 when that fails.
func (a *App) serve(w http.ResponseWriter, r *http.Request) {
	a.requests.Add(1)
	if a.spec.PerRequest {
		call := func() error { return get(r.Context(), a.spec.Dependency, a.spec.CallTimeout) }
		if a.pool != nil {
			call = func() error { return pooledCall(r.Context(), a.pool, a.spec.Dependency, a.spec.CallTimeout) }
		}
		if err := call(); err != nil {
			a.failed.Add(1)
			http.Error(w, "dependency: "+err.Error(), http.StatusBadGateway)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok\n")
}

// Stats are the app's counters.
func (a *App) Stats() (wire.AppStats, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return wire.AppStats{Serving: a.serving, BootAttempts: int(a.attempts.Load()), TimeToServe: a.ready,
		Requests: a.requests.Load(), Failed: a.failed.Load()}, a.bootErr
}

// Check runs one health check: GET / of the target within its timeout.
func Check(ctx context.Context, hc wire.HealthCheck) wire.HealthResult {
	if err := get(ctx, hc.Target, hc.Timeout); err != nil {
		return wire.HealthResult{Err: err.Error()}
	}
	return wire.HealthResult{OK: true}
}

// Close stops the boot and the server.
func (a *App) Close() error {
	a.cancel()
	<-a.done
	if a.pool != nil {
		a.pool.CloseIdleConnections()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.srv != nil {
		return a.srv.Close()
	}
	return nil
}

// get calls GET / on target on a connection of its own (a keep-alive
// connection would outlive the state it is meant to test) and wants 200
// within timeout.
func get(ctx context.Context, target string, timeout time.Duration) error {
	return call(ctx, client, target, nil, timeout)
}

// pooledCall is one per-request call, GET /, on a keep-alive connection
// of the host's pool. net/http silently replays a GET whose reused
// connection failed, on a fresh one; an API server's outbound call that
// meets a reset fails, and its caller sees the error. So the request
// carries an empty body net/http cannot rewind, which makes it one it does
// not replay (probed empty, it is sent without a body).
func pooledCall(ctx context.Context, c *http.Client, target string, timeout time.Duration) error {
	return call(ctx, c, target, io.NopCloser(strings.NewReader("")), timeout)
}

// call sends GET / with body to target through c and wants 200 within
// timeout.
func call(ctx context.Context, c *http.Client, target string, body io.Reader, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+target+"/", body)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", target, resp.Status)
	}
	return nil
}

var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
