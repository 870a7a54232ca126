package servers

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/natlab/natlab/testbed/service"
)

func TestHTTP1KeepAliveCountsOneConnection(t *testing.T) {
	s := start(t, service.Spec{Protocol: service.HTTP1})
	c := h1Client(t)
	for i := range 5 {
		code, body := get(t, c, baseURL(s)+"/")
		if code != http.StatusOK || body != "test-http1 ok\n" {
			t.Fatalf("request %d: %d %q", i, code, body)
		}
	}
	st := s.Stats()
	if st.Accepted != 1 || st.Active != 1 || st.Requests != 5 || st.Status["2xx"] != 5 {
		t.Fatalf("stats: accepted %d active %d requests %d status %v; want 1 1 5 2xx:5", st.Accepted, st.Active, st.Requests, st.Status)
	}
}

func TestHTTPRoutes(t *testing.T) {
	for _, proto := range []service.Protocol{service.HTTP1, service.H2C, service.Registrar} {
		t.Run(string(proto), func(t *testing.T) {
			s := start(t, service.Spec{Protocol: proto})
			c := h1Client(t)
			if proto == service.H2C {
				c = h2cClient(t)
			}
			tests := []struct {
				path     string
				wantCode int
				wantBody string // prefix
			}{
				{"/status/503", 503, "503 Service Unavailable"},
				{"/status/204", 204, ""},
				{"/status/42", 400, "status code must be"},
				{"/status/abc", 400, "status code must be"},
				{"/delay/-1", 400, "delay must be"},
				{"/delay/0", 200, "delayed 0ms"},
				{"/nope", 404, "404 page not found"},
			}
			for _, tt := range tests {
				code, body := get(t, c, baseURL(s)+tt.path)
				if code != tt.wantCode || !strings.HasPrefix(body, tt.wantBody) {
					t.Errorf("GET %s = %d %q, want %d %q...", tt.path, code, body, tt.wantCode, tt.wantBody)
				}
			}
			st := s.Stats()
			want := map[string]uint64{"2xx": 2, "4xx": 4, "5xx": 1}
			if len(st.Status) != len(want) || st.Status["2xx"] != 2 || st.Status["4xx"] != 4 || st.Status["5xx"] != 1 || st.Requests != 7 {
				t.Errorf("status classes %v requests %d, want %v and 7", st.Status, st.Requests, want)
			}
		})
	}
}

func TestHTTPDelay(t *testing.T) {
	s := start(t, service.Spec{Protocol: service.HTTP1})
	c := h1Client(t)
	begin := time.Now()
	if code, _ := get(t, c, baseURL(s)+"/delay/300"); code != 200 {
		t.Fatalf("delay code %d", code)
	}
	// A lower bound only: the delay holds the answer at least 300 ms.
	if el := time.Since(begin); el < 300*time.Millisecond {
		t.Fatalf("/delay/300 took %v, want at least 300ms", el)
	}
}

// whoamiLocal fetches /whoami and returns the body and the client's local
// address of the connection used.
func whoamiLocal(t *testing.T, c *http.Client, url string) (string, string) {
	t.Helper()
	var local string
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { local = i.Conn.LocalAddr().String() }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, url+"/whoami", nil)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET /whoami: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read /whoami: %v", err)
	}
	return string(b), local
}

func TestWhoamiReportsClientAddress(t *testing.T) {
	s := start(t, service.Spec{Protocol: service.HTTP1})
	got, local := whoamiLocal(t, h1Client(t), baseURL(s))
	if got != local {
		t.Fatalf("/whoami = %q, want the client's address %q", got, local)
	}
	p := s.Stats().Peers
	_, port, _ := net.SplitHostPort(local)
	if p.Distinct != 1 || p.IPs[0] != "127.0.0.1" || p.MinPort != p.MaxPort || port != strconv.Itoa(int(p.MinPort)) {
		t.Fatalf("peers = %+v, want 127.0.0.1 port %s", p, port)
	}
}

func TestH2CMultiplexesOneConnection(t *testing.T) {
	s := start(t, service.Spec{Protocol: service.H2C})
	c := h2cClient(t)
	// Warm up the single connection so the concurrent requests share it.
	want, _ := whoamiLocal(t, c, baseURL(s))
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for range n {
		wg.Go(func() {
			resp, err := c.Get(baseURL(s) + "/whoami")
			if err != nil {
				errs <- err.Error()
				return
			}
			defer func() { _ = resp.Body.Close() }()
			b, _ := io.ReadAll(resp.Body)
			if resp.ProtoMajor != 2 || resp.StatusCode != 200 || string(b) != want {
				errs <- resp.Proto + " " + resp.Status + " " + string(b)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("h2c request: %s (want HTTP/2.0 200 %s)", e, want)
	}
	st := s.Stats()
	if st.Accepted != 1 || st.Active != 1 || st.Requests != n+1 || st.Status["2xx"] != n+1 {
		t.Fatalf("stats: accepted %d active %d requests %d status %v; want 1 1 %d", st.Accepted, st.Active, st.Requests, st.Status, n+1)
	}
}

func TestHTTP1RefusesH2C(t *testing.T) {
	s := start(t, service.Spec{Protocol: service.HTTP1})
	if _, err := h2cClient(t).Get(baseURL(s) + "/"); err == nil {
		t.Fatal("an h2c (prior knowledge) request to an http1 server succeeded; want it refused")
	}
}

// TestHTTP1UnpooledChurnLeavesNothingTracked dials a fresh connection per
// request, as an unpooled client does: each is counted once and none stays
// tracked after the client closes it.
func TestHTTP1UnpooledChurnLeavesNothingTracked(t *testing.T) {
	const n = 500
	s := start(t, service.Spec{Protocol: service.HTTP1})
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			for range n / 10 {
				resp, err := c.Get(baseURL(s) + "/")
				if err != nil {
					t.Errorf("GET: %v", err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		})
	}
	wg.Wait()
	if !eventually(5*time.Second, func() bool { return s.Stats().Active == 0 }) {
		t.Fatalf("active = %d after all requests, want 0", s.Stats().Active)
	}
	s.tl.mu.Lock()
	left := len(s.tl.conns)
	s.tl.mu.Unlock()
	st := s.Stats()
	if st.Accepted != n || st.Requests != n || st.Status["2xx"] != n || left != 0 {
		t.Fatalf("accepted %d requests %d 2xx %d tracked %d; want %d %d %d 0", st.Accepted, st.Requests, st.Status["2xx"], left, n, n, n)
	}
}
