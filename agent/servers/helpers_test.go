package servers

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/natlab/natlab/testbed/service"
)

// start starts a server for spec on 127.0.0.1:0 and closes it at cleanup.
func start(t *testing.T, spec service.Spec) *Server {
	t.Helper()
	if spec.Name == "" {
		spec.Name = "test-" + string(spec.Protocol)
	}
	if spec.Addr == "" {
		spec.Addr = "127.0.0.1:0"
	}
	s, err := Start(context.Background(), spec)
	if err != nil {
		t.Fatalf("start %s: %v", spec.Protocol, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// baseURL is the http:// URL of s.
func baseURL(s *Server) string { return "http://" + s.Addr().String() }

// h1Client returns an HTTP/1.1 keep-alive client, closed at cleanup.
func h1Client(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 100}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// h2cClient returns a cleartext HTTP/2 client (prior knowledge) built on
// x/net/http2, as the load generator builds it, closed at cleanup.
func h2cClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// get fetches url and returns status and body.
func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body of %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// dial opens a TCP connection to s, closed at cleanup.
func dial(t *testing.T, s *Server) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", s.Addr(), err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// echoOnce writes msg on c and reads the same number of bytes back.
func echoOnce(t *testing.T, c net.Conn, msg string) string {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read echo: %v", err)
	}
	return string(buf)
}

// eventually polls cond every 10 ms until it holds or d passes.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// mustAddrPort parses an ip:port test literal.
func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
