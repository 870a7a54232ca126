package loadgen

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// udpHeader is the sequence number at the start of every datagram; a reply
// counts only if it echoes the sequence number of its request, so a late
// answer to an earlier, timed-out request is not mistaken for a fresh one.
const udpHeader = 8

// udpConduit sends a datagram and waits for its echo, from a fresh socket
// (so a fresh source port: a new NAT flow) per attempt, or from pooled
// sockets (PoolSize 1 = one socket for the whole run).
type udpConduit struct {
	d       *dialer
	pool    *pools
	size    int
	timeout time.Duration
	seq     atomic.Uint64
	bufs    sync.Pool
}

func newUDP(p Plan, d *dialer) *udpConduit {
	u := &udpConduit{d: d, size: max(p.Strategy.Payload, udpHeader), timeout: p.RequestTimeout}
	u.bufs.New = func() any {
		b := make([]byte, 2*u.size+1)
		copy(b[udpHeader:u.size], bytes.Repeat([]byte{'x'}, u.size-udpHeader))
		return &b
	}
	if p.Strategy.Pool == PoolKeepAlive {
		u.pool = newPools(p.Strategy, p.RequestTimeout, d)
	}
	return u
}

func (u *udpConduit) do(ctx context.Context, ph *phaseRec) (Outcome, error) {
	if u.pool == nil {
		c, err := u.d.dial(ctx, ph)
		if err != nil {
			return classifyIn(ctx, err, StageConnect), err
		}
		err = u.exchange(ctx, c)
		_ = c.Close()
		return classifyIn(ctx, err, StageRequest), err
	}
	pc, dialErr, err := u.pool.get(ctx, ph)
	if err != nil {
		if dialErr {
			return classifyIn(ctx, err, StageConnect), err
		}
		return classifyIn(ctx, err, StageRequest), err
	}
	err = u.exchange(ctx, pc)
	u.pool.put(pc, err == nil || Classify(err, StageRequest) == OutcomeReadTimeout)
	return classifyIn(ctx, err, StageRequest), err
}

// exchange sends one datagram and waits for the echo of its sequence number.
func (u *udpConduit) exchange(ctx context.Context, c net.Conn) error {
	if err := c.SetDeadline(time.Now().Add(u.timeout)); err != nil {
		return err
	}
	bp := u.bufs.Get().(*[]byte)
	defer u.bufs.Put(bp)
	out, in := (*bp)[:u.size], (*bp)[u.size:]
	seq := u.seq.Add(1)
	binary.BigEndian.PutUint64(out, seq)
	if _, err := c.Write(out); err != nil {
		return err
	}
	for {
		n, err := c.Read(in)
		if err != nil {
			return err
		}
		if n >= udpHeader && binary.BigEndian.Uint64(in) == seq {
			return nil
		}
	}
}

// hold opens a socket and proves the flow with one exchange.
func (u *udpConduit) hold(ctx context.Context, ph *phaseRec) (net.Conn, Outcome, error) {
	c, err := u.d.dial(ctx, ph)
	if err != nil {
		return nil, classifyIn(ctx, err, StageConnect), err
	}
	if err := u.exchange(ctx, c); err != nil {
		_ = c.Close()
		return nil, classifyIn(ctx, err, StageRequest), err
	}
	return c, OutcomeOK, nil
}

func (u *udpConduit) close() {
	if u.pool != nil {
		u.pool.close()
	}
}
