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
		if ctx.Err() != nil {
			return OutcomeCancelled
		}
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			return OutcomeCancelled
		}
	}
	return Classify(err, stage)
}

// holdTCP opens a plain connection for a hold phase.
func holdTCP(ctx context.Context, d *dialer, ph *phaseRec) (net.Conn, Outcome, error) {
	c, err := d.dial(ctx, ph)
	if err != nil {
		return nil, classifyIn(ctx, err, StageConnect), err
	}
	return c, OutcomeOK, nil
}
