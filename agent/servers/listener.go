package servers

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
)

// errReset is what a read on a connection the server reset returns.
var errReset = errors.New("connection reset by the server on request")

// trackedListener counts and remembers every accepted connection, and
// resets new connections (without handing them on) while reset is on.
type trackedListener struct {
	net.Listener
	srv *Server

	mu     sync.Mutex
	conns  map[*trackedConn]struct{}
	closed bool // set by closeAll; later accepts are closed at once
}

// newTrackedListener wraps ln for srv.
func newTrackedListener(ln net.Listener, srv *Server) *trackedListener {
	return &trackedListener{Listener: ln, srv: srv, conns: make(map[*trackedConn]struct{})}
}

// Accept returns the next connection the server should serve; connections
// accepted while reset is on are counted, then aborted with an RST.
func (l *trackedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				l.srv.acceptErrors.Add(1)
			}
			return nil, err
		}
		l.srv.accepted.Add(1)
		l.srv.peers.add(addrPortOf(c.RemoteAddr()))
		if l.srv.reset.Load() {
			l.srv.resets.Add(1) // before the RST, so a client that saw it sees it counted
			abort(c)
			continue
		}
		tc := &trackedConn{Conn: c, l: l, gone: make(chan struct{})}
		l.mu.Lock()
		if l.closed {
			// Accepted while Close ran: closeAll has already swept.
			l.mu.Unlock()
			_ = c.Close()
			return nil, net.ErrClosed
		}
		l.conns[tc] = struct{}{}
		l.srv.active.Add(1)
		l.mu.Unlock()
		return tc, nil
	}
}

// closeAll closes every connection still open, and any accepted later.
func (l *trackedListener) closeAll() {
	l.mu.Lock()
	l.closed = true
	open := make([]*trackedConn, 0, len(l.conns))
	for c := range l.conns {
		open = append(open, c)
	}
	l.mu.Unlock()
	for _, c := range open {
		_ = c.Close()
	}
}

// forget drops c from the open set and the active count.
func (l *trackedListener) forget(c *trackedConn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
	l.srv.active.Add(-1)
}

// trackedConn is an accepted connection that leaves the active count on
// its first Close and resets itself on a read while reset is on.
type trackedConn struct {
	net.Conn
	l      *trackedListener
	closed atomic.Bool
	// gone is closed once the first close has left the active count: a
	// Close that lost the race to another waits for it, so the server's
	// Close, which closes every connection, returns with the count at 0.
	gone chan struct{}
}

// Read reads from the connection; when the server's reset switch is on,
// data that arrives is dropped and the connection aborted with an RST.
func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && c.l.srv.reset.Load() {
		if c.closed.CompareAndSwap(false, true) {
			c.l.srv.resets.Add(1)
			c.l.forget(c)
			abort(c.Conn)
			close(c.gone)
		}
		return 0, errReset
	}
	return n, err
}

// Close closes the connection once.
func (c *trackedConn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		<-c.gone
		return nil
	}
	err := c.Conn.Close()
	c.l.forget(c)
	close(c.gone)
	return err
}

// abort closes c with SO_LINGER 0 so the peer gets an RST, not a FIN.
func abort(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
