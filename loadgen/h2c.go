package loadgen

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// h2cConduit multiplexes requests over PoolSize HTTP/2 cleartext
// connections, chosen round-robin; a connection that can take no more
// requests (closed, GOAWAY, too old, idle-closed) is replaced on next use.
type h2cConduit struct {
	d       *dialer
	t       *http2.Transport
	url     string
	method  string
	payload []byte
	timeout time.Duration
	maxAge  time.Duration
	maxUses int64
	slots   []h2slot
	next    atomic.Uint64
	retired sync.WaitGroup
}

type h2slot struct {
	mu   sync.Mutex
	cc   *http2.ClientConn
	born time.Time
	uses atomic.Int64
}

func newH2C(p Plan, d *dialer) *h2cConduit {
	s := p.Strategy
	h := &h2cConduit{d: d, url: "http://" + p.Target + s.Path, method: http.MethodGet,
		timeout: p.RequestTimeout, maxAge: s.MaxConnAge, maxUses: int64(s.MaxRequestsPerConn),
		slots: make([]h2slot, s.PoolSize),
		t: &http2.Transport{AllowHTTP: true, IdleConnTimeout: s.IdleTimeout,
			DialTLSContext: func(context.Context, string, string, *tls.Config) (net.Conn, error) {
				return nil, errors.New("h2c conduit dials its own connections")
			}}}
	if s.Payload > 0 {
		h.method, h.payload = http.MethodPost, bytes.Repeat([]byte{'x'}, s.Payload)
	}
	return h
}

// conn returns a usable client connection of the next slot, dialling one if
// needed. dialErr reports a connect-stage error.
func (h *h2cConduit) conn(ctx context.Context, ph *phaseRec) (*h2slot, *http2.ClientConn, bool, error) {
	sl := &h.slots[(h.next.Add(1)-1)%uint64(len(h.slots))]
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.cc != nil {
		old := (h.maxAge > 0 && time.Since(sl.born) >= h.maxAge) || (h.maxUses > 0 && sl.uses.Load() >= h.maxUses)
		if !old && sl.cc.CanTakeNewRequest() {
			return sl, sl.cc, false, nil
		}
		h.retire(sl.cc)
		sl.cc = nil
	}
	c, err := h.d.dial(ctx, ph)
	if err != nil {
		return nil, nil, true, err
	}
	cc, err := h.t.NewClientConn(c)
	if err != nil {
		_ = c.Close()
		return nil, nil, false, err
	}
	sl.cc, sl.born = cc, time.Now()
	sl.uses.Store(0)
	return sl, cc, false, nil
}

// retire lets a connection finish its streams, then closes it.
func (h *h2cConduit) retire(cc *http2.ClientConn) {
	h.retired.Add(1)
	go func() {
		defer h.retired.Done()
		ctx, cancel := context.WithTimeout(context.Background(), h.timeout)
		defer cancel()
		_ = cc.Shutdown(ctx)
		_ = cc.Close()
	}()
}

func (h *h2cConduit) do(ctx context.Context, ph *phaseRec) (Outcome, error) {
	sl, cc, dialErr, err := h.conn(ctx, ph)
	if err != nil {
		if dialErr {
			return classifyIn(ctx, err, StageConnect), err
		}
		return classifyIn(ctx, err, StageRequest), err
	}
	sl.uses.Add(1)
	rctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	var body io.Reader
	if h.payload != nil {
		body = bytes.NewReader(h.payload)
	}
	req, err := http.NewRequestWithContext(rctx, h.method, h.url, body)
	if err != nil {
		return OutcomeOther, err
	}
	resp, err := cc.RoundTrip(req)
	if err != nil {
		return classifyIn(ctx, err, StageRequest), err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return classifyIn(ctx, err, StageRequest), err
	}
	return StatusOutcome(resp.StatusCode), nil
}

func (h *h2cConduit) hold(ctx context.Context, ph *phaseRec) (net.Conn, Outcome, error) {
	return holdTCP(ctx, h.d, ph)
}

func (h *h2cConduit) close() {
	for i := range h.slots {
		sl := &h.slots[i]
		sl.mu.Lock()
		if sl.cc != nil {
			_ = sl.cc.Close()
			sl.cc = nil
		}
		sl.mu.Unlock()
	}
	h.retired.Wait()
}
