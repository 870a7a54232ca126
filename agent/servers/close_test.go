package servers

import (
	"context"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/natlab/natlab/internal/holepunch"
	"github.com/natlab/natlab/testbed/service"
)

// settledGoroutines waits until the goroutine count stops falling and
// returns it.
func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for range 50 {
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m >= n {
			return m
		}
		n = m
	}
	return n
}

// busyLoad puts work on s that Close has to cut short: open idle
// connections, requests held by Stall, /delay and the dependency. It
// returns a wait for the client side to finish.
func busyLoad(t *testing.T, s *Server) (wait func()) {
	t.Helper()
	var wg sync.WaitGroup
	var clients []*http.Client
	var conns []net.Conn
	switch s.spec.Protocol {
	case service.TCPEcho, service.UDPEcho:
		for range 3 {
			c, err := net.Dial(s.spec.Protocol.Network(), s.Addr().String())
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			echoOnce(t, c, "idle")
			conns = append(conns, c)
		}
		c, err := net.Dial(s.spec.Protocol.Network(), s.Addr().String())
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		echoOnce(t, c, "warm")
		conns = append(conns, c)
		s.Stall(time.Hour)
		if _, err := c.Write([]byte("held by the stall")); err != nil {
			t.Fatalf("write: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
		if st := s.Stats(); st.Stalled != 0 || st.Requests != 4 {
			t.Fatalf("echo under a stall: %+v, want 4 requests served, the 5th held", st)
		}
	case service.Rendezvous:
		// Holepunches whose lookups hold the dependency's one slot and
		// wait for it (the test's spec gives it a minute-long latency).
		for i := range 3 {
			c := udpSocket(t, s)
			send(t, c, holepunch.Message{Type: holepunch.Punch, ID: uint64(i + 1), Client: addrOf(c)})
		}
		if !eventually(5*time.Second, func() bool { d := s.Stats().Dependency; return d.InFlight == 1 && d.Waiting == 2 }) {
			t.Fatalf("lookups never arrived: %+v", s.Stats().Dependency)
		}
	default:
		c := h1Client(t)
		if s.spec.Protocol == service.H2C {
			c = h2cClient(t)
		}
		clients = append(clients, c)
		get(t, c, baseURL(s)+"/") // an idle keep-alive connection
		s.Saturate(1, time.Hour)
		paths := []string{"/delay/600000", "/delay/600000"}
		for _, p := range paths {
			wg.Go(func() {
				if resp, err := c.Get(baseURL(s) + p); err == nil {
					_ = resp.Body.Close()
				}
			})
		}
		if s.spec.Protocol == service.Registrar {
			for range 2 { // one holds the dependency, one waits for it
				wg.Go(func() {
					if resp, err := c.Post(baseURL(s)+"/register", "text/plain", strings.NewReader("x")); err == nil {
						_ = resp.Body.Close()
					}
				})
			}
		}
		if !eventually(5*time.Second, func() bool { return s.Stats().Active >= 2 || s.spec.Protocol == service.H2C }) {
			t.Fatalf("load never arrived: %+v", s.Stats())
		}
		time.Sleep(100 * time.Millisecond) // let requests reach their handlers
		s.Stall(time.Hour)
		wg.Go(func() {
			if resp, err := c.Get(baseURL(s) + "/"); err == nil {
				_ = resp.Body.Close()
			}
		})
		time.Sleep(100 * time.Millisecond)
	}
	return func() {
		for _, c := range conns {
			_ = c.Close()
		}
		wg.Wait()
		for _, c := range clients {
			c.CloseIdleConnections()
		}
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	for _, proto := range service.Protocols() {
		t.Run(string(proto), func(t *testing.T) {
			before := settledGoroutines()
			spec := service.Spec{Name: "close", Protocol: proto, Addr: "127.0.0.1:0"}
			if proto == service.Registrar {
				spec.VerifyTimeout = time.Minute
			}
			if proto == service.Rendezvous {
				spec.VerifyTimeout = time.Minute
				spec.Dependency = service.Dependency{Concurrency: 1, Latency: time.Minute}
			}
			s, err := Start(context.Background(), spec)
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			wait := busyLoad(t, s)
			if proto == service.Registrar {
				if d := s.Stats().Dependency; d.InFlight != 1 || d.Waiting != 1 {
					t.Fatalf("dependency before close %+v, want 1 in flight 1 waiting", d)
				}
			}
			closed := make(chan error, 1)
			go func() { closed <- s.Close() }()
			select {
			case err := <-closed:
				if err != nil {
					t.Errorf("close: %v", err)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("Close still waiting 2s after it was called with work in flight")
			}
			if st := s.Stats(); st.Active != 0 && proto.Network() == "tcp" {
				t.Fatalf("active = %d after Close, want 0", st.Active)
			}
			if _, err := net.DialTimeout("tcp", s.Addr().String(), time.Second); err == nil && proto.Network() == "tcp" {
				t.Fatal("dial succeeded after Close")
			}
			wait()
			var after int
			if !eventually(5*time.Second, func() bool { after = runtime.NumGoroutine(); return after <= before }) {
				buf := make([]byte, 1<<20)
				t.Fatalf("goroutines: %d before, %d after Close\n%s", before, after, buf[:runtime.Stack(buf, true)])
			}
			if err := s.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
		})
	}
}

func TestContextEndClosesServer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Start(ctx, service.Spec{Name: "ctx", Protocol: service.HTTP1, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	get(t, h1Client(t), baseURL(s)+"/")
	cancel()
	if !eventually(5*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", s.Addr().String(), time.Second)
		if err == nil {
			_ = c.Close()
		}
		return err != nil
	}) {
		t.Fatal("server still accepts after its context ended")
	}
}

func TestStartWithEndedContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, err := Start(ctx, service.Spec{Name: "ended", Protocol: service.TCPEcho, Addr: "127.0.0.1:0"})
	if err != nil {
		return // refusing to start is a fine answer too
	}
	if !eventually(5*time.Second, func() bool { return isClosed(s.done) }) {
		t.Fatal("server started with an ended context did not close")
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}
