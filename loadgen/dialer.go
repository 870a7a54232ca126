package loadgen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/natlab/natlab/internal/portrange"
)

// dialer opens connections to the target from the plan's source addresses
// and accounts for them (connect histogram, new and open connections).
type dialer struct {
	target  string
	network string // "tcp" or "udp"
	sources []netip.Addr
	random  bool
	next    atomic.Uint64
	timeout time.Duration
	opts    sockOpts
	rec     *recorder
}

func newDialer(p Plan, network string, rec *recorder) (*dialer, error) {
	d := &dialer{target: p.Target, network: network, sources: p.Sources, random: p.SourcePick == PickRandom,
		timeout: p.ConnectTimeout, rec: rec}
	s := p.Strategy
	if network == "tcp" {
		d.opts.linger0 = s.Linger0
		d.opts.noPortBind = len(p.Sources) > 0
		d.opts.userTimeoutMs = int(p.SYNTimeout.Milliseconds())
	}
	if s.LocalPorts != "" {
		r, err := portrange.Parse(s.LocalPorts)
		if err != nil {
			return nil, fmt.Errorf("new dialer: %w", err)
		}
		d.opts.portLo, d.opts.portHi, d.opts.portRangeOn = r.First, r.Last, true
	}
	if err := d.opts.probe(network); err != nil {
		return nil, fmt.Errorf("new dialer: %w", err)
	}
	return d, nil
}

// sourceIndex returns the index in sources of the next connection's local
// address, round-robin or at random (-1 when there are no sources).
func (d *dialer) sourceIndex() int {
	switch n := len(d.sources); {
	case n == 0:
		return -1
	case d.random:
		return rand.IntN(n)
	default:
		return int((d.next.Add(1) - 1) % uint64(n))
	}
}

// dial opens one connection for phase ph from the next source address.
// On success it records the handshake time; the returned conn decrements
// the open gauge on Close.
func (d *dialer) dial(ctx context.Context, ph *phaseRec) (net.Conn, error) {
	var src netip.Addr
	if i := d.sourceIndex(); i >= 0 {
		src = d.sources[i]
	}
	return d.dialFrom(ctx, ph, src)
}

// dialFrom is dial from the local address src (invalid = any).
func (d *dialer) dialFrom(ctx context.Context, ph *phaseRec, src netip.Addr) (net.Conn, error) {
	// No TCP keep-alive probes: the traffic is the scenario's own. Go's
	// default (a probe every 15 s) refreshes NAT idle timers behind the
	// scenario's back, and the probes of connections made together fire
	// together: at 100,000 held connections they overflowed the kernel's
	// per-CPU input backlog, 600,000-900,000 packets dropped in one
	// full-scale run.
	nd := net.Dialer{Timeout: d.timeout, KeepAlive: -1, Control: func(_, _ string, rc syscall.RawConn) error { return d.opts.apply(rc) }}
	if src.IsValid() {
		if d.network == "udp" {
			nd.LocalAddr = &net.UDPAddr{IP: src.AsSlice()}
		} else {
			nd.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
		}
	}
	dctx := dialContext(ctx)
	t0 := time.Now()
	c, err := nd.DialContext(dctx, d.network, d.target)
	if err == nil && d.network == "udp" && c.LocalAddr().String() == c.RemoteAddr().String() {
		// A connected UDP socket that got the target's own port (possible
		// only on one host) would hear itself; dial again, as Go's TCP
		// dialer does for the same case.
		_ = c.Close()
		c, err = nd.DialContext(dctx, d.network, d.target)
	}
	if err != nil {
		return nil, err
	}
	if d.network == "tcp" {
		if err := d.opts.endHandshake(c); err != nil {
			_ = c.Close()
			return nil, err
		}
	}
	d.rec.connected(ph, time.Since(t0))
	d.rec.openConns.Add(1)
	cc := &countedConn{Conn: c, open: &d.rec.openConns}
	// A cancelled run interrupts any blocking I/O on the connection; one
	// registration per connection keeps pooled requests cheap.
	cc.stop = context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	return cc, nil
}

// countedConn decrements the open-connection gauge once, on the first Close.
type countedConn struct {
	net.Conn
	open *atomic.Int64
	stop func() bool
	once sync.Once
}

// Close closes the connection and updates the gauge.
func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.stop()
		c.open.Add(-1)
	})
	return err
}

// dialCtxKey carries a context that bounds the dial alone (a hold's
// phase), apart from the attempt's context, which bounds the life of the
// connection the dial makes.
type dialCtxKey struct{}

// withDialContext returns ctx whose dials end when dial ends.
func withDialContext(ctx, dial context.Context) context.Context {
	return context.WithValue(ctx, dialCtxKey{}, dial)
}

// dialContext is the context that bounds a dial under ctx.
func dialContext(ctx context.Context) context.Context {
	if d, ok := ctx.Value(dialCtxKey{}).(context.Context); ok {
		return d
	}
	return ctx
}
