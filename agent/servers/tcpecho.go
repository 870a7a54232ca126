package servers

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"
)

// echoBufSize is the per-connection echo buffer; small, because a backend
// holds tens of thousands of connections.
const echoBufSize = 2048

// serveEcho accepts TCP connections until Close and echoes each one.
func (s *Server) serveEcho() {
	var backoff time.Duration
	for {
		c, err := s.tl.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || isClosed(s.done) {
				return
			}
			// Out of file descriptors or an aborted handshake: retry.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(backoff):
			case <-s.done:
				return
			}
			continue
		}
		backoff = 0
		if !s.work.enter() {
			_ = c.Close()
			return
		}
		go func() {
			defer s.work.leave()
			s.echo(c)
		}()
	}
}

// echo writes back every read on c until EOF, an error or Close. Each read
// counts as one request.
func (s *Server) echo(c net.Conn) {
	defer func() { _ = c.Close() }()
	buf := make([]byte, echoBufSize)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if s.stall.wait(context.Background(), s.done) {
				s.stalled.Add(1)
			}
			if isClosed(s.done) {
				return
			}
			// Counted before the reply, so a client that got it sees it
			// counted; a short write takes back what was not sent.
			s.requests.Add(1)
			s.bytes.Add(uint64(n))
			w, werr := c.Write(buf[:n])
			if w < n {
				s.bytes.Add(^uint64(n - w - 1))
			}
			if werr != nil {
				return
			}
		}
		if err != nil {
			if errors.Is(err, syscall.ECONNRESET) {
				s.peerResets.Add(1)
			}
			return
		}
	}
}
