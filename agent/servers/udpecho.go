package servers

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"
)

// UDPFlowIdle is how long a UDP flow counts as active after its last
// datagram; a flow that returns after longer counts as a new flow, as
// conntrack's default UDP timeout would have it.
const UDPFlowIdle = 30 * time.Second

// udpFlows remembers when each source ip:port last sent a datagram.
type udpFlows struct {
	mu      sync.Mutex
	last    map[netip.AddrPort]time.Time
	pruneAt int
}

// see records a datagram from src at now and reports whether it starts a
// new flow.
func (f *udpFlows) see(src netip.AddrPort, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last == nil {
		f.last = make(map[netip.AddrPort]time.Time)
	}
	prev, ok := f.last[src]
	f.last[src] = now
	if len(f.last) > f.pruneAt {
		f.pruneLocked(now)
	}
	return !ok || now.Sub(prev) > UDPFlowIdle
}

// pruneLocked forgets idle flows so the map stays as large as the active set.
func (f *udpFlows) pruneLocked(now time.Time) {
	for k, t := range f.last {
		if now.Sub(t) > UDPFlowIdle {
			delete(f.last, k)
		}
	}
	f.pruneAt = max(2*len(f.last), 4096)
}

// active counts flows seen within UDPFlowIdle of now.
func (f *udpFlows) active(now time.Time) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var n int64
	for _, t := range f.last {
		if now.Sub(t) <= UDPFlowIdle {
			n++
		}
	}
	return n
}

// serveUDP echoes every datagram back to its sender until Close. One
// goroutine serves the socket, so during a stall later datagrams queue in
// the socket buffer (and overflow it, as they would on a stuck server).
func (s *Server) serveUDP() {
	buf := make([]byte, 64*1024)
	for {
		n, src, err := s.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || isClosed(s.done) {
				return
			}
			time.Sleep(time.Millisecond) // a transient socket error; don't spin
			continue
		}
		flow := netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		if s.flows.see(flow, time.Now()) {
			s.accepted.Add(1)
			s.peers.add(flow)
		}
		if s.stall.wait(context.Background(), s.done) {
			s.stalled.Add(1)
		}
		if isClosed(s.done) {
			return
		}
		s.requests.Add(1) // before the reply, so a client that got it sees it counted
		s.bytes.Add(uint64(n))
		_, _ = s.udp.WriteToUDPAddrPort(buf[:n], src)
	}
}
