package loadgen

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// bigPayload is the size above which a request's write and read run
// concurrently, so an echo of a large payload cannot deadlock on full buffers.
const bigPayload = 64 << 10

// tcpConduit sends Payload bytes and reads the echo back, on a fresh
// connection per attempt (client closes first) or on pooled connections.
type tcpConduit struct {
	d       *dialer
	pool    *pools // nil when unpooled
	payload []byte
	timeout time.Duration
	bufs    sync.Pool
}

func newTCP(p Plan, d *dialer) *tcpConduit {
	t := &tcpConduit{d: d, payload: bytes.Repeat([]byte{'x'}, p.Strategy.Payload), timeout: p.RequestTimeout}
	t.bufs.New = func() any { b := make([]byte, len(t.payload)); return &b }
	if p.Strategy.Pool == PoolKeepAlive {
		t.pool = newPools(p.Strategy, p.RequestTimeout, d)
	}
	return t
}

func (t *tcpConduit) do(ctx context.Context, ph *phaseRec) (Outcome, error) {
	if t.pool == nil {
		c, err := t.d.dial(ctx, ph)
		if err != nil {
			return classifyIn(ctx, err, StageConnect), err
		}
		err = t.exchange(ctx, c)
		_ = c.Close()
		return classifyIn(ctx, err, StageRequest), err
	}
	pc, dialErr, err := t.pool.get(ctx, ph)
	if err != nil {
		if dialErr {
			return classifyIn(ctx, err, StageConnect), err
		}
		return classifyIn(ctx, err, StageRequest), err
	}
	err = t.exchange(ctx, pc)
	t.pool.put(pc, err == nil)
	return classifyIn(ctx, err, StageRequest), err
}

// exchange writes the payload and reads as many bytes back.
func (t *tcpConduit) exchange(ctx context.Context, c net.Conn) error {
	if err := c.SetDeadline(time.Now().Add(t.timeout)); err != nil {
		return err
	}
	bp := t.bufs.Get().(*[]byte)
	defer t.bufs.Put(bp)
	return echo(c, t.payload, *bp)
}

// echo writes out and reads len(out) bytes into buf.
func echo(c net.Conn, out, buf []byte) error {
	if len(out) <= bigPayload {
		if _, err := c.Write(out); err != nil {
			return err
		}
		_, err := io.ReadFull(c, buf)
		return err
	}
	// The first error in time wins: a read failing with ECONNRESET leaves
	// the pending write with EPIPE, which must not hide the reset.
	var mu sync.Mutex
	var first, werr error
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := c.Write(out); err != nil {
			werr = err
			fail(err)
			_ = c.SetReadDeadline(time.Unix(1, 0)) // no echo will come
		}
	}()
	if _, err := io.ReadFull(c, buf); err != nil {
		fail(err)
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			_ = c.SetWriteDeadline(time.Unix(1, 0))
		} // after EOF the write ends by itself: done, EPIPE or the deadline
	}
	<-done
	// A read that met EOF only says the peer had closed; a failed write
	// says more (EPIPE: it closed and answered our data with RST).
	if werr != nil && (errors.Is(first, io.EOF) || errors.Is(first, io.ErrUnexpectedEOF)) {
		return werr
	}
	return first
}

func (t *tcpConduit) hold(ctx context.Context, ph *phaseRec) (net.Conn, Outcome, error) {
	return holdTCP(ctx, t.d, ph)
}

func (t *tcpConduit) close() {
	if t.pool != nil {
		t.pool.close()
	}
}
