package apphost

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/agent/wire"
)

// freeAddr is a loopback address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// dependency serves GET / with 200 while up is true, 503 otherwise.
func dependency(t *testing.T, up *atomic.Bool) string {
	t.Helper()
	return dependencyCounting(t, up, new(atomic.Int64))
}

// dependencyCounting is dependency that counts the fetches it refused.
func dependencyCounting(t *testing.T, up *atomic.Bool, refused *atomic.Int64) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !up.Load() {
			refused.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

func waitServing(t *testing.T, a *App, within time.Duration) wire.AppStats {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st, err := a.Stats()
		require.NoError(t, err)
		if st.Serving {
			return st
		}
		require.True(t, time.Now().Before(deadline), "not serving after %s: %+v", within, st)
		time.Sleep(5 * time.Millisecond)
	}
}

// A host does not listen before its config fetch works; it retries with
// exponential backoff, and its time to serve is the sum of the waits.
func TestBootBacksOffUntilTheDependencyAnswers(t *testing.T) {
	var up atomic.Bool
	var refused atomic.Int64
	dep := dependencyCounting(t, &up, &refused)
	listen := freeAddr(t)
	a, err := Start(wire.AppStart{Listen: listen, Dependency: dep, PerRequest: true, CallTimeout: time.Second,
		BootTimeout: time.Second, BootBackoff: 100 * time.Millisecond, BootFactor: 3, BootMaxBackoff: time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close() })

	// Waits of 100, 300 and 900 ms follow the first three fetches: the
	// fourth starts 1.3 s after the boot at the earliest (timers never
	// fire early). Once the dependency has refused the third, it comes
	// up: the fourth works, 900 ms later. (The host counts an attempt
	// when it starts it, so its count alone cannot say the third failed.)
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := a.Stats()
		require.NoError(t, err)
		require.False(t, st.Serving)
		if refused.Load() == 3 {
			break
		}
		require.True(t, time.Now().Before(deadline), "3 fetches not made after 5 s: %+v", st)
		time.Sleep(5 * time.Millisecond)
	}
	_, err = net.DialTimeout("tcp", listen, time.Second)
	assert.Error(t, err, "nothing listens while the host boots")
	up.Store(true)
	st := waitServing(t, a, 5*time.Second)
	assert.Equal(t, 4, st.BootAttempts)
	assert.GreaterOrEqual(t, st.TimeToServe, 1300*time.Millisecond, "the sum of the waits")

	resp, err := http.Get("http://" + listen + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	// A failed dependency call is a 502 to the caller.
	up.Store(false)
	resp, err = http.Get("http://" + listen + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	st, err = a.Stats()
	require.NoError(t, err)
	assert.EqualValues(t, 2, st.Requests)
	assert.EqualValues(t, 1, st.Failed)
}

// A health check passes on 200 and fails on anything else or a timeout.
func TestCheck(t *testing.T) {
	var up atomic.Bool
	up.Store(true)
	dep := dependency(t, &up)
	ctx := context.Background()
	assert.True(t, Check(ctx, wire.HealthCheck{Target: dep, Timeout: time.Second}).OK)
	up.Store(false)
	res := Check(ctx, wire.HealthCheck{Target: dep, Timeout: time.Second})
	assert.False(t, res.OK)
	assert.Contains(t, res.Err, "503")

	// A listener that never answers: the check times out.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	start := time.Now()
	res = Check(ctx, wire.HealthCheck{Target: ln.Addr().String(), Timeout: 200 * time.Millisecond})
	assert.False(t, res.OK)
	assert.Less(t, time.Since(start), time.Second)
}
