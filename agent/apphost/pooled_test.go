package apphost

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/agent/wire"
)

// resettingDependency answers the first request on each connection with
// 200 (keep-alive) and resets the connection (RST) when the next request
// arrives on it, as a NAT that took the connection's port does: the
// connection looks healthy while idle and fails only when used.
func resettingDependency(t *testing.T, conns *atomic.Int64) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func(c net.Conn) {
				defer c.Close()
				r := bufio.NewReader(c)
				for n := 0; ; n++ {
					req, err := http.ReadRequest(r)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					if n > 0 {
						_ = c.(*net.TCPConn).SetLinger(0)
						return
					}
					_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
				}
			}(c)
		}
	}()
	return ln.Addr().String()
}

// With pooled calls every request reuses a keep-alive connection of the
// host, and a call on a connection that is reset fails: the caller gets
// a 502, the call is not replayed on a fresh connection. The next call
// dials a new connection and works.
func TestPooledCallOnAResetConnectionIs502(t *testing.T) {
	var conns atomic.Int64
	dep := resettingDependency(t, &conns)
	up := new(atomic.Bool)
	up.Store(true)
	listen := freeAddr(t)
	a, err := Start(wire.AppStart{Listen: listen, Dependency: dep, PerRequest: true, CallPool: 1,
		CallTimeout: time.Second, BootTimeout: time.Second, BootBackoff: 10 * time.Millisecond, BootFactor: 1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close() })
	waitServing(t, a, 5*time.Second)
	call := func() int {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://"+listen+"/", nil)
		require.NoError(t, err)
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	// The boot's fetch has a connection of its own; each pooled connection
	// serves one call and resets on the next, so calls alternate.
	got := []int{call(), call(), call(), call()}
	assert.Equal(t, []int{200, 502, 200, 502}, got)
	st, err := a.Stats()
	require.NoError(t, err)
	assert.Equal(t, uint64(4), st.Requests)
	assert.Equal(t, uint64(2), st.Failed)
	assert.Equal(t, int64(3), conns.Load(), "the boot's fetch and two pooled connections; no replay dialed another")
}
