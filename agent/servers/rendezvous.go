package servers

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/natlab/natlab/internal/holepunch"
	"github.com/natlab/natlab/testbed/service"
)

// holepunchState is the rendezvous service's bookkeeping: its counters,
// the probes waiting for their Ack, and the clients that failed.
type holepunchState struct {
	requests, verified, registered, failedClosed atomic.Uint64
	depTimeouts, probeTimeouts, mappingChanged   atomic.Uint64
	inProgress                                   atomic.Int64

	mu      sync.Mutex
	token   uint64
	pending map[uint64]*pendingProbe // by token
	failed  map[netip.AddrPort]struct{}
}

// pendingProbe is a probe sent to a mapping, waiting for its Ack from
// that mapping.
type pendingProbe struct {
	id   uint64
	to   netip.AddrPort
	done chan struct{} // closed by the first matching Ack
}

// expect registers a probe of registration id to addr and returns its token.
func (h *holepunchState) expect(id uint64, to netip.AddrPort) (uint64, *pendingProbe) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pending == nil {
		h.pending = map[uint64]*pendingProbe{}
	}
	h.token++
	p := &pendingProbe{id: id, to: to, done: make(chan struct{})}
	h.pending[h.token] = p
	return h.token, p
}

// forget drops a probe once its verification ended.
func (h *holepunchState) forget(token uint64) {
	h.mu.Lock()
	delete(h.pending, token)
	h.mu.Unlock()
}

// acked matches an Ack from src: it completes the probe only when it came
// back through the mapping that was probed.
func (h *holepunchState) acked(m holepunch.Message, src netip.AddrPort) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.pending[m.Token]
	if p == nil || p.id != m.ID || p.to != src {
		return
	}
	delete(h.pending, m.Token)
	close(p.done)
}

// failedClient records a failed-closed request of client.
func (h *holepunchState) failedClient(client netip.AddrPort) {
	h.mu.Lock()
	if h.failed == nil {
		h.failed = map[netip.AddrPort]struct{}{}
	}
	h.failed[client] = struct{}{}
	h.mu.Unlock()
}

func (h *holepunchState) stats() service.HolepunchStats {
	h.mu.Lock()
	failed := uint64(len(h.failed))
	h.mu.Unlock()
	return service.HolepunchStats{
		Requests:           h.requests.Load(),
		Verified:           h.verified.Load(),
		Registered:         h.registered.Load(),
		FailedClosed:       h.failedClosed.Load(),
		DependencyTimeouts: h.depTimeouts.Load(),
		ProbeTimeouts:      h.probeTimeouts.Load(),
		MappingChanged:     h.mappingChanged.Load(),
		FailedClients:      failed,
		InProgress:         h.inProgress.Load(),
	}
}

// serveRendezvous reads holepunch datagrams until Close. Every Punch is
// verified in a goroutine of its own: a redundant copy of a request is
// verified again, lookup and probe, as the incident's client code path
// made its servers do. Ack datagrams complete the probes they answer;
// anything else is ignored.
func (s *Server) serveRendezvous() {
	buf := make([]byte, 2048)
	for {
		n, src, err := s.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || isClosed(s.done) {
				return
			}
			time.Sleep(time.Millisecond) // a transient socket error; don't spin
			continue
		}
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		if s.flows.see(src, time.Now()) {
			s.accepted.Add(1)
			s.peers.add(src)
		}
		m, err := holepunch.Parse(buf[:n])
		if err != nil {
			continue
		}
		s.requests.Add(1)
		s.bytes.Add(uint64(n))
		switch m.Type {
		case holepunch.Punch:
			if !s.work.enter() {
				return // closing
			}
			s.hp.requests.Add(1)
			s.hp.inProgress.Add(1)
			go func() {
				defer s.work.leave()
				s.verify(m, src)
			}()
		case holepunch.Ack:
			s.hp.acked(m, src)
		}
	}
}

// verify looks the client up in the dependency and probes the mapping it
// claims (else the one it came from), all within the verify timeout, and
// answers Registered or Refused to the source the request came from. The
// request leaves InProgress when it is counted, before the answer goes
// out, so a client that has its answer sees it counted.
func (s *Server) verify(m holepunch.Message, src netip.AddrPort) {
	counted := false
	defer func() {
		if !counted { // the server closed first
			s.hp.inProgress.Add(-1)
		}
	}()
	if s.stall.wait(context.Background(), s.done) { // a stall holds the request back, unverified
		s.stalled.Add(1)
	}
	if isClosed(s.done) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.spec.EffectiveVerifyTimeout())
	defer cancel()
	target := src
	if m.Claimed.IsValid() {
		target = m.Claimed
		if m.Claimed != src {
			s.hp.mappingChanged.Add(1)
		}
	}
	answer := holepunch.Message{Type: holepunch.Registered, ID: m.ID, Observed: src}
	err := s.dep.lookup(ctx, s.done)
	switch {
	case errors.Is(err, errServerClosed):
		return
	case err != nil:
		s.hp.depTimeouts.Add(1)
		answer.Type = holepunch.Refused
	default:
		token, p := s.hp.expect(m.ID, target)
		_, _ = s.udp.WriteToUDPAddrPort(holepunch.Message{Type: holepunch.Probe, ID: m.ID, Token: token}.Append(nil), target)
		select {
		case <-p.done:
			s.hp.verified.Add(1)
		case <-ctx.Done():
			s.hp.forget(token)
			s.hp.probeTimeouts.Add(1)
			answer.Type = holepunch.Refused
		case <-s.done:
			s.hp.forget(token)
			return
		}
	}
	if answer.Type == holepunch.Refused {
		s.hp.failedClosed.Add(1)
		s.hp.failedClient(m.Client)
	} else {
		s.hp.registered.Add(1)
	}
	s.hp.inProgress.Add(-1)
	counted = true
	_, _ = s.udp.WriteToUDPAddrPort(answer.Append(nil), src)
}
