package loadgen

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/natlab/natlab/internal/holepunch"
)

// errFailedClosed ends a registration every copy of which the rendezvous
// service refused; it wraps ECONNREFUSED, so it classifies as
// OutcomeRefused.
var errFailedClosed = fmt.Errorf("registration failed closed: every holepunch request refused: %w", syscall.ECONNREFUSED)

// holepunchConduit registers with a rendezvous service: per attempt it
// sends Redundancy holepunch requests from one socket, answers the
// service's probes from that socket, and waits for an answer to every
// copy. A pooled socket remembers the public mapping the service last
// reported and claims it in its next requests, as a client that learned
// its address does.
type holepunchConduit struct {
	d          *dialer
	pool       *pool
	redundancy int
	timeout    time.Duration
	seq        atomic.Uint64
}

func newHolepunch(p Plan, d *dialer) *holepunchConduit {
	h := &holepunchConduit{d: d, redundancy: max(p.Strategy.Redundancy, 1), timeout: p.RequestTimeout}
	if p.Strategy.Pool == PoolKeepAlive {
		h.pool = newPool(p.Strategy, p.RequestTimeout, d.dial)
	}
	return h
}

func (h *holepunchConduit) do(ctx context.Context, ph *phaseRec) (Outcome, error) {
	if h.pool == nil {
		c, err := h.d.dial(ctx, ph)
		if err != nil {
			return classifyIn(ctx, err, StageConnect), err
		}
		var mapped netip.AddrPort
		err = h.register(c, &mapped)
		_ = c.Close()
		return classifyIn(ctx, err, StageRequest), err
	}
	pc, dialErr, err := h.pool.get(ctx, ph)
	if err != nil {
		if dialErr {
			return classifyIn(ctx, err, StageConnect), err
		}
		return classifyIn(ctx, err, StageRequest), err
	}
	err = h.register(pc, &pc.mapped)
	o := Classify(err, StageRequest)
	h.pool.put(pc, o == OutcomeOK || o == OutcomeRefused || o == OutcomeReadTimeout)
	return classifyIn(ctx, err, StageRequest), err
}

// register makes one registration from c, claiming *mapped when it is
// set, and stores the mapping the service reports in *mapped. It returns
// nil when any copy was registered, errFailedClosed when every copy was
// refused, and the read's timeout when some copy got no answer in time
// and none was registered.
func (h *holepunchConduit) register(c net.Conn, mapped *netip.AddrPort) error {
	if err := c.SetDeadline(time.Now().Add(h.timeout)); err != nil {
		return err
	}
	id := h.seq.Add(1)
	var client netip.AddrPort
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok {
		client = a.AddrPort()
	}
	out := holepunch.Message{Type: holepunch.Punch, ID: id, Client: client, Claimed: *mapped}.Append(nil)
	for range h.redundancy {
		if _, err := c.Write(out); err != nil {
			return err
		}
	}
	registered, refused := 0, 0
	in := make([]byte, 2*holepunch.Size)
	for registered+refused < h.redundancy {
		n, err := c.Read(in)
		if err != nil {
			if registered > 0 && isTimeout(err) {
				return nil // registered; a copy's answer is still missing
			}
			return err
		}
		m, err := holepunch.Parse(in[:n])
		if err != nil || m.ID != id {
			continue // not ours, or a late answer to an earlier registration
		}
		switch m.Type {
		case holepunch.Probe:
			ack := holepunch.Message{Type: holepunch.Ack, ID: id, Token: m.Token}.Append(nil)
			if _, err := c.Write(ack); err != nil {
				return err
			}
		case holepunch.Registered:
			registered++
			*mapped = m.Observed
		case holepunch.Refused:
			refused++
			*mapped = m.Observed
		}
	}
	if registered == 0 {
		return errFailedClosed
	}
	return nil
}

// hold registers once from a new socket and keeps it.
func (h *holepunchConduit) hold(ctx context.Context, ph *phaseRec) (net.Conn, Outcome, error) {
	c, err := h.d.dial(ctx, ph)
	if err != nil {
		return nil, classifyIn(ctx, err, StageConnect), err
	}
	var mapped netip.AddrPort
	if err := h.register(c, &mapped); err != nil {
		_ = c.Close()
		return nil, classifyIn(ctx, err, StageRequest), err
	}
	return c, OutcomeOK, nil
}

func (h *holepunchConduit) close() {
	if h.pool != nil {
		h.pool.close()
	}
}
