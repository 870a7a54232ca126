package loadgen

import (
	"context"
	"fmt"
	"net"
	"time"
)

// conduit is one strategy's way of making attempts. Implementations live one
// per file (tcp.go, http1.go, h2c.go, udp.go, holepunch.go) and are chosen in newConduit.
type conduit interface {
	// do makes one attempt for phase ph and classifies it.
	do(ctx context.Context, ph *phaseRec) (Outcome, error)
	// hold opens one connection to keep for a hold phase.
	hold(ctx context.Context, ph *phaseRec) (net.Conn, Outcome, error)
	// close releases pooled connections.
	close()
}

// newConduit returns the conduit of the plan's strategy; p has defaults applied.
func newConduit(p Plan, rec *recorder) (conduit, error) {
	network := "tcp"
	if p.Strategy.Kind == KindUDP || p.Strategy.Kind == KindHolepunch {
		network = "udp"
	}
	d, err := newDialer(p, network, rec)
	if err != nil {
		return nil, err
	}
	switch p.Strategy.Kind {
	case KindTCP:
		return newTCP(p, d), nil
	case KindHTTP1:
		return newHTTP1(p, d), nil
	case KindH2C:
		return newH2C(p, d), nil
	case KindUDP:
		return newUDP(p, d), nil
	case KindHolepunch:
		return newHolepunch(p, d), nil
	}
	return nil, fmt.Errorf("new conduit: unknown strategy kind %q", p.Strategy.Kind)
}

// classifyIn classifies err, turning any error of an attempt whose context
// was cancelled (or whose context deadline has passed: the I/O deadline can
// fire a moment before the context notices) into OutcomeCancelled.
func classifyIn(ctx context.Context, err error, stage Stage) Outcome {
	if err != nil {
		if ended(ctx) {
			return OutcomeCancelled
		}
		if stage == StageConnect && ended(dialContext(ctx)) {
			return OutcomeCancelled // the dial's own bound (a hold's phase) ended
		}
	}
	return Classify(err, stage)
}

// ended reports whether ctx is done or its deadline has passed.
func ended(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// holdTCP opens a plain connection for a hold phase.
func holdTCP(ctx context.Context, d *dialer, ph *phaseRec) (net.Conn, Outcome, error) {
	c, err := d.dial(ctx, ph)
	if err != nil {
		return nil, classifyIn(ctx, err, StageConnect), err
	}
	return c, OutcomeOK, nil
}
