package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// http1Conduit speaks HTTP/1.1 over its own connections, so that pool size,
// idle timeout, age and requests per connection are exactly what the plan
// says (net/http's Transport hides some of them). Without keep-alive it
// sends "Connection: close" and closes after the answer.
type http1Conduit struct {
	d       *dialer
	pool    *pools
	req     []byte // the whole request, built once
	timeout time.Duration
	readers sync.Pool
}

func newHTTP1(p Plan, d *dialer) *http1Conduit {
	s := p.Strategy
	var b bytes.Buffer
	method := http.MethodGet
	if s.Payload > 0 {
		method = http.MethodPost
	}
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: natlab-loadgen\r\n", method, s.Path, p.Target)
	if s.Payload > 0 {
		b.WriteString("Content-Type: application/octet-stream\r\nContent-Length: " + strconv.Itoa(s.Payload) + "\r\n")
	}
	if s.Pool != PoolKeepAlive {
		b.WriteString("Connection: close\r\n")
	}
	b.WriteString("\r\n")
	b.Write(bytes.Repeat([]byte{'x'}, s.Payload))
	h := &http1Conduit{d: d, req: b.Bytes(), timeout: p.RequestTimeout}
	h.readers.New = func() any { return bufio.NewReaderSize(nil, 4096) }
	if s.Pool == PoolKeepAlive {
		h.pool = newPools(s, p.RequestTimeout, d)
	}
	return h
}

func (h *http1Conduit) do(ctx context.Context, ph *phaseRec) (Outcome, error) {
	if h.pool == nil {
		c, err := h.d.dial(ctx, ph)
		if err != nil {
			return classifyIn(ctx, err, StageConnect), err
		}
		br := h.readers.Get().(*bufio.Reader)
		br.Reset(c)
		code, _, err := h.exchange(ctx, c, br)
		br.Reset(nil)
		h.readers.Put(br)
		_ = c.Close()
		return h.outcome(ctx, code, err), err
	}
	pc, dialErr, err := h.pool.get(ctx, ph)
	if err != nil {
		if dialErr {
			return classifyIn(ctx, err, StageConnect), err
		}
		return classifyIn(ctx, err, StageRequest), err
	}
	if pc.br == nil {
		pc.br = bufio.NewReaderSize(pc.Conn, 4096)
	}
	code, reuse, err := h.exchange(ctx, pc.Conn, pc.br)
	h.pool.put(pc, err == nil && reuse)
	return h.outcome(ctx, code, err), err
}

func (h *http1Conduit) outcome(ctx context.Context, code int, err error) Outcome {
	if err != nil {
		return classifyIn(ctx, err, StageRequest)
	}
	return StatusOutcome(code)
}

// exchange sends the request and reads the whole answer. reuse reports
// whether the server lets the connection be used again.
func (h *http1Conduit) exchange(ctx context.Context, c net.Conn, br *bufio.Reader) (code int, reuse bool, err error) {
	if err := c.SetDeadline(time.Now().Add(h.timeout)); err != nil {
		return 0, false, err
	}
	if _, err := c.Write(h.req); err != nil {
		return 0, false, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, false, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return 0, false, err
	}
	return resp.StatusCode, !resp.Close, nil
}

func (h *http1Conduit) hold(ctx context.Context, ph *phaseRec) (net.Conn, Outcome, error) {
	return holdTCP(ctx, h.d, ph)
}

func (h *http1Conduit) close() {
	if h.pool != nil {
		h.pool.close()
	}
}
