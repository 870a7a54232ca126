package loadgen

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"
)

// errPoolTimeout ends an attempt that waited RequestTimeout for a pooled
// connection (OutcomePoolTimeout).
var errPoolTimeout = errors.New("no pooled connection free within the request timeout")

// pconn is a pooled connection with its bookkeeping.
type pconn struct {
	net.Conn
	owner    *pool          // the pool that lent it
	br       *bufio.Reader  // for protocols that parse answers (http1)
	mapped   netip.AddrPort // holepunch: the public mapping last reported
	born     time.Time
	lastUsed time.Time
	uses     int
}

// pool lends at most size connections, one attempt at a time each. A slot
// is taken before a connection is dialled, so the pool never opens more than
// size connections at once.
type pool struct {
	slots       chan struct{}
	dial        func(ctx context.Context, ph *phaseRec) (net.Conn, error)
	wait        time.Duration
	idleTimeout time.Duration
	maxAge      time.Duration
	maxUses     int

	mu     sync.Mutex
	idle   []*pconn // most recently used last
	closed bool
	stop   chan struct{}
	done   chan struct{}
}

func newPool(s Strategy, wait time.Duration, dial func(context.Context, *phaseRec) (net.Conn, error)) *pool {
	p := &pool{slots: make(chan struct{}, s.PoolSize), dial: dial, wait: wait,
		idleTimeout: s.IdleTimeout, maxAge: s.MaxConnAge, maxUses: s.MaxRequestsPerConn,
		stop: make(chan struct{}), done: make(chan struct{})}
	go p.reap()
	return p
}

// pools are the keep-alive pools of one load: a single pool that every
// source address shares (PoolPerLoad), or one pool per source address
// (PoolPerSource), each opening at most PoolSize connections from its
// address. An attempt picks its source first, round-robin or at random as
// the plan says, then borrows from that source's pool.
type pools struct {
	one *pool   // PoolPerLoad
	per []*pool // PoolPerSource, by source index
	d   *dialer
}

func newPools(s Strategy, wait time.Duration, d *dialer) *pools {
	if s.PoolPer != PoolPerSource || len(d.sources) == 0 {
		return &pools{one: newPool(s, wait, d.dial)}
	}
	ps := &pools{per: make([]*pool, len(d.sources)), d: d}
	for i, src := range d.sources {
		ps.per[i] = newPool(s, wait, func(ctx context.Context, ph *phaseRec) (net.Conn, error) {
			return d.dialFrom(ctx, ph, src)
		})
	}
	return ps
}

// get lends a connection of the next source's pool (see pool.get).
func (ps *pools) get(ctx context.Context, ph *phaseRec) (*pconn, bool, error) {
	if ps.one != nil {
		return ps.one.get(ctx, ph)
	}
	return ps.per[ps.d.sourceIndex()].get(ctx, ph)
}

// put returns c to the pool that lent it.
func (ps *pools) put(c *pconn, reuse bool) { c.owner.put(c, reuse) }

// close closes every pool.
func (ps *pools) close() {
	if ps.one != nil {
		ps.one.close()
	}
	for _, p := range ps.per {
		p.close()
	}
}

// expired reports whether c must not be lent again.
func (p *pool) expired(c *pconn, now time.Time) bool {
	return (p.idleTimeout > 0 && now.Sub(c.lastUsed) >= p.idleTimeout) ||
		(p.maxAge > 0 && now.Sub(c.born) >= p.maxAge) ||
		(p.maxUses > 0 && c.uses >= p.maxUses)
}

// get lends a connection: an idle one, or a new one. dialErr reports that
// err came from dialling (so it is a connect-stage error).
func (p *pool) get(ctx context.Context, ph *phaseRec) (c *pconn, dialErr bool, err error) {
	select {
	case p.slots <- struct{}{}:
	default:
		t := time.NewTimer(p.wait)
		select {
		case p.slots <- struct{}{}:
			t.Stop()
		case <-t.C:
			return nil, false, errPoolTimeout
		case <-ctx.Done():
			t.Stop()
			return nil, false, ctx.Err()
		}
	}
	var now time.Time
	if p.idleTimeout > 0 || p.maxAge > 0 {
		now = time.Now()
	}
	p.mu.Lock()
	for len(p.idle) > 0 {
		c = p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if !p.expired(c, now) {
			break
		}
		_ = c.Close()
		c = nil
	}
	p.mu.Unlock()
	if c != nil {
		return c, false, nil
	}
	nc, err := p.dial(ctx, ph)
	if err != nil {
		<-p.slots
		return nil, true, err
	}
	return &pconn{Conn: nc, owner: p, born: time.Now(), lastUsed: time.Now()}, false, nil
}

// put returns a lent connection; broken ones (reuse false) are closed.
func (p *pool) put(c *pconn, reuse bool) {
	c.uses++
	if p.idleTimeout > 0 || p.maxAge > 0 {
		c.lastUsed = time.Now()
	}
	p.mu.Lock()
	if reuse && !p.closed && !p.expired(c, c.lastUsed) {
		p.idle = append(p.idle, c)
		c = nil
	}
	p.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
	<-p.slots
}

// reap closes idle connections past their idle timeout or age while they
// sit in the pool, as a real client's pool does.
func (p *pool) reap() {
	defer close(p.done)
	if p.idleTimeout <= 0 && p.maxAge <= 0 {
		<-p.stop
		return
	}
	every := max(min(nonZero(p.idleTimeout), nonZero(p.maxAge))/4, 10*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			p.mu.Lock()
			keep := p.idle[:0]
			for _, c := range p.idle {
				if p.expired(c, now) {
					_ = c.Close()
				} else {
					keep = append(keep, c)
				}
			}
			clear(p.idle[len(keep):])
			p.idle = keep
			p.mu.Unlock()
		}
	}
}

func nonZero(d time.Duration) time.Duration {
	if d <= 0 {
		return time.Duration(1<<63 - 1)
	}
	return d
}

// close closes idle connections now and lent ones when they come back.
func (p *pool) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	for _, c := range p.idle {
		_ = c.Close()
	}
	p.idle = nil
	p.mu.Unlock()
	close(p.stop)
	<-p.done
}
