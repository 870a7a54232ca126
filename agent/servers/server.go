package servers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/natlab/natlab/testbed/service"
)

// Server is one running server. Its methods are safe for concurrent use.
type Server struct {
	spec service.Spec
	addr net.Addr
	done chan struct{} // closed when Close starts

	tl      *trackedListener // TCP protocols
	httpSrv *http.Server     // HTTP protocols
	udp     *net.UDPConn     // UDP echo
	flows   udpFlows

	work      inflight // every goroutine and handler the server runs
	mu        sync.Mutex
	stopAfter func() bool // guarded by mu: ctx's AfterFunc may call Close before Start stores it
	closeOnce sync.Once
	closeErr  error

	accepted     atomic.Uint64
	active       atomic.Int64
	requests     atomic.Uint64
	bytes        atomic.Uint64
	resets       atomic.Uint64
	peerResets   atomic.Uint64
	stalled      atomic.Uint64
	acceptErrors atomic.Uint64
	regOK        atomic.Uint64
	regFailed    atomic.Uint64
	hp           holepunchState // rendezvous only
	peers        peerSet
	status       statusClasses

	stall stallGate
	reset atomic.Bool
	dep   dependency
}

// Start validates spec and starts serving it; the server is listening when
// Start returns. ctx bounds the server's life: when ctx is done the server
// closes as if Close were called, so pass a context that lives as long as
// the server should (not a short start-up timeout).
func Start(ctx context.Context, spec service.Spec) (*Server, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	s := &Server{spec: spec, done: make(chan struct{})}
	if spec.Protocol.HasDependency() {
		s.dep.saturate(spec.Dependency.Concurrency, spec.Dependency.Latency)
	}
	// Accepted connections send no TCP keep-alive probes, as the clients'
	// do not (loadgen's dialer says why).
	lc := net.ListenConfig{KeepAlive: -1}
	if spec.ReusePort {
		lc.Control = reusePort
	}
	switch spec.Protocol.Network() {
	case "udp":
		pc, err := lc.ListenPacket(ctx, "udp", spec.Addr)
		if err != nil {
			return nil, fmt.Errorf("listen udp %s: %w", spec.Addr, err)
		}
		s.udp = pc.(*net.UDPConn)
		s.addr = pc.LocalAddr()
		if spec.Protocol == service.Rendezvous {
			s.goServe(s.serveRendezvous)
		} else {
			s.goServe(s.serveUDP)
		}
	default:
		ln, err := lc.Listen(ctx, "tcp", spec.Addr)
		if err != nil {
			return nil, fmt.Errorf("listen tcp %s: %w", spec.Addr, err)
		}
		if spec.Backlog > 0 {
			if err := setBacklog(ln, spec.Backlog); err != nil {
				_ = ln.Close()
				return nil, fmt.Errorf("listen tcp %s: backlog %d: %w", spec.Addr, spec.Backlog, err)
			}
		}
		s.addr = ln.Addr()
		s.tl = newTrackedListener(ln, s)
		if spec.Protocol.IsHTTP() {
			s.httpSrv = s.newHTTPServer()
			s.goServe(s.serveHTTP)
		} else {
			s.goServe(s.serveEcho)
		}
	}
	s.mu.Lock()
	s.stopAfter = context.AfterFunc(ctx, func() { _ = s.Close() })
	s.mu.Unlock()
	return s, nil
}

// goServe runs fn in a goroutine that Close waits for.
func (s *Server) goServe(fn func()) {
	s.work.enter() // cannot fail: Close has not run yet
	go func() {
		defer s.work.leave()
		fn()
	}()
}

// serveHTTP runs the HTTP server until Close.
func (s *Server) serveHTTP() {
	_ = s.httpSrv.Serve(s.tl) // returns http.ErrServerClosed after Close
}

// Spec returns the spec the server was started with.
func (s *Server) Spec() service.Spec { return s.spec }

// Addr returns the address the server is bound to (with the real port
// when the spec asked for port 0).
func (s *Server) Addr() net.Addr { return s.addr }

// Close stops the listener, closes every open connection, and returns when
// every handler and goroutine the server started has returned. Requests
// held by Stall, /delay or the registrar's dependency are released at once.
// Calling it again returns the first result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		stop := s.stopAfter
		s.mu.Unlock()
		if stop != nil {
			stop()
		}
		close(s.done)
		var errs []error
		if s.httpSrv != nil {
			if err := s.httpSrv.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, fmt.Errorf("close http server: %w", err))
			}
		}
		if s.tl != nil {
			if err := s.tl.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, fmt.Errorf("close listener: %w", err))
			}
			s.tl.closeAll()
		}
		if s.udp != nil {
			if err := s.udp.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, fmt.Errorf("close udp socket: %w", err))
			}
		}
		s.work.closeAndWait()
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// Stall holds back every request (HTTP, rendezvous holepunch) or echo reply (TCP, UDP) that
// arrives in the next d until d has passed: a one-off "backend stalls"
// fault. A new call replaces the current window; d <= 0 ends it at once.
func (s *Server) Stall(d time.Duration) { s.stall.set(d) }

// SetReset turns resetting on or off. While on, every new TCP connection is
// accepted and then closed with SO_LINGER 0, so the client sees a
// connection reset; an already open connection is reset the next time data
// arrives on it. It has no effect on UDP echo, which has no connections.
func (s *Server) SetReset(on bool) { s.reset.Store(on) }

// ResetPeaks starts a new window for the dependency's peak gauges
// (Stats().Dependency.PeakInFlight and PeakWaiting).
func (s *Server) ResetPeaks() { s.dep.resetPeaks() }

// Saturate sets the registrar's verification dependency to allow at most
// limit concurrent lookups, each taking latency. limit 0 means unlimited and
// latency 0 no added latency, so Saturate(0, 0) reverts; negative values
// count as 0. Lookups already running finish under the old setting.
// Servers other than the registrar keep the setting but never use it.
func (s *Server) Saturate(limit int, latency time.Duration) { s.dep.saturate(limit, latency) }

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() service.Stats {
	st := service.Stats{
		Name:         s.spec.Name,
		Protocol:     s.spec.Protocol,
		Addr:         s.addr.String(),
		Accepted:     s.accepted.Load(),
		Active:       s.active.Load(),
		Requests:     s.requests.Load(),
		Bytes:        s.bytes.Load(),
		Resets:       s.resets.Load(),
		PeerResets:   s.peerResets.Load(),
		Stalled:      s.stalled.Load(),
		Peers:        s.peers.summary(),
		AcceptErrors: s.acceptErrors.Load(),
	}
	if s.udp != nil {
		st.Active = s.flows.active(time.Now())
	}
	if s.spec.Protocol.IsHTTP() {
		st.Status = s.status.snapshot()
	}
	if s.spec.Protocol == service.Registrar {
		st.Registrations = service.RegistrationStats{OK: s.regOK.Load(), FailedClosed: s.regFailed.Load()}
	}
	if s.spec.Protocol == service.Rendezvous {
		st.Holepunch = s.hp.stats()
		st.Registrations = service.RegistrationStats{OK: st.Holepunch.Registered, FailedClosed: st.Holepunch.FailedClosed}
	}
	if s.spec.Protocol.HasDependency() {
		st.Dependency = s.dep.stats()
	}
	return st
}

// addrPortOf returns a's ip:port, or the zero value when a is not TCP/UDP.
func addrPortOf(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort()
	case *net.UDPAddr:
		return a.AddrPort()
	}
	return netip.AddrPort{}
}
