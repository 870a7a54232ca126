package loadgen

import (
	"context"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"
)

// runPlan runs p and fails the test on a run error or a broken invariant.
func runPlan(t *testing.T, p Plan) *Result {
	t.Helper()
	res, err := Run(context.Background(), p, nil)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if err := res.CheckFinished(); err != nil {
		t.Fatalf("accounting: %v", err)
	}
	return res
}

func closedPhase(d time.Duration, workers int) []Phase {
	return []Phase{{Name: "p", Duration: d, Schedule: Schedule{Kind: ScheduleClosed, Concurrency: workers}}}
}

// Every outcome class produced for real on loopback and classified right.
func TestOutcomesOnLoopback(t *testing.T) {
	requireRoot(t)
	fast := 150 * time.Millisecond
	tests := []struct {
		name   string
		plan   func(t *testing.T) Plan
		want   Outcome
		atMost Outcome // a second class allowed besides want (255 = none)
	}{
		{name: "ok", want: OutcomeOK, plan: func(t *testing.T) Plan {
			return Plan{Target: serve(t, echoHandler).Addr().String(), Strategy: Strategy{Kind: KindTCP}}
		}},
		{name: "refused: no listener", want: OutcomeRefused, plan: func(t *testing.T) Plan {
			return Plan{Target: refusedAddr(t), Strategy: Strategy{Kind: KindTCP}}
		}},
		{name: "reset: server closes with SO_LINGER 0", want: OutcomeReset, plan: func(t *testing.T) Plan {
			return Plan{Target: serve(t, resetHandler).Addr().String(), Strategy: Strategy{Kind: KindTCP}}
		}},
		{name: "connect timeout: SYN dropped by a full accept queue", want: OutcomeConnectTimeout, plan: func(t *testing.T) Plan {
			return Plan{Target: fullBacklog(t), Strategy: Strategy{Kind: KindTCP}, ConnectTimeout: fast}
		}},
		{name: "read timeout: server never answers", want: OutcomeReadTimeout, plan: func(t *testing.T) Plan {
			return Plan{Target: serve(t, silentHandler).Addr().String(), Strategy: Strategy{Kind: KindTCP}, RequestTimeout: fast}
		}},
		{name: "http 5xx", want: OutcomeHTTP5xx, plan: func(t *testing.T) Plan {
			return Plan{Target: serveHTTP(t, false, statusHandler(503)).Addr().String(), Strategy: Strategy{Kind: KindHTTP1}}
		}},
		{name: "http 4xx over h2c", want: OutcomeHTTP4xx, plan: func(t *testing.T) Plan {
			return Plan{Target: serveHTTP(t, true, statusHandler(404)).Addr().String(), Strategy: Strategy{Kind: KindH2C}}
		}},
		{name: "udp refused: ICMP port unreachable", want: OutcomeRefused, plan: func(t *testing.T) Plan {
			return Plan{Target: refusedAddr(t), Strategy: Strategy{Kind: KindUDP}}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.plan(t)
			p.Phases = closedPhase(400*time.Millisecond, 2)
			res := runPlan(t, p)
			c := res.Total.Counts
			if c.Attempts == 0 || c.Of(tc.want) != c.Attempts {
				t.Fatalf("want all %d attempts %s, got %v (errors %v)", c.Attempts, tc.want, c.Outcomes, res.Errors)
			}
			t.Logf("%d attempts, all %s", c.Attempts, tc.want)
		})
	}
}

// A tiny local port range, unpooled connections and no linger leave the
// client's ports in TIME_WAIT: connects fail with EADDRNOTAVAIL. Linger0
// (RST on close, no TIME_WAIT) avoids it with the same range.
func TestPortExhaustionAndLinger0(t *testing.T) {
	requireRoot(t)
	target := serve(t, echoHandler).Addr().String()
	src := []netip.Addr{netip.MustParseAddr("127.0.0.2")} // a fresh source: no TIME_WAIT left by other tests
	base := Plan{Target: target, Sources: src, Phases: closedPhase(500*time.Millisecond, 1),
		Strategy: Strategy{Kind: KindTCP, LocalPorts: "40000-40003"}}
	res := runPlan(t, base)
	c := res.Total.Counts
	if c.Of(OutcomeAddrNotAvail) == 0 || c.Of(OutcomeOK) == 0 {
		t.Fatalf("want ok and addr_not_avail, got %v (errors %v)", c.Outcomes, res.Errors)
	}
	t.Logf("no linger: %v", c.Outcomes)

	lp := base
	lp.Sources = []netip.Addr{netip.MustParseAddr("127.0.0.3")}
	lp.Strategy.Linger0 = true
	res = runPlan(t, lp)
	c = res.Total.Counts
	// Without linger the 4 ports serve 4 connections; with it every
	// attempt gets a port again. How many fit 500 ms is the machine's pace.
	if c.Of(OutcomeAddrNotAvail) != 0 || c.Of(OutcomeOK) != c.Attempts || c.Attempts <= 4 {
		t.Fatalf("linger0 should avoid exhaustion, got %v (errors %v)", c.Outcomes, res.Errors)
	}
	t.Logf("linger0: %v", c.Outcomes)
}

// A pooled connection the server closed after its first answer: the next
// (large) write meets the peer's RST in CLOSE_WAIT, which Linux reports as
// EPIPE.
func TestBrokenPipe(t *testing.T) {
	requireRoot(t)
	ln := serve(t, func(c net.Conn) {
		defer c.Close()
		_, _ = io.CopyN(c, c, 1<<20) // answer one request in full, then close (FIN)
	})
	p := Plan{Target: ln.Addr().String(), Phases: closedPhase(400*time.Millisecond, 1),
		Strategy: Strategy{Kind: KindTCP, Pool: PoolKeepAlive, PoolSize: 1, Payload: 1 << 20}}
	res := runPlan(t, p)
	c := res.Total.Counts
	if c.Of(OutcomeBrokenPipe) < c.Attempts/4 {
		t.Fatalf("want broken_pipe, got %v (errors %v)", c.Outcomes, res.Errors)
	}
	t.Logf("%v", c.Outcomes)
}

// A pooled connection the server ended is classified by how it ended:
// after a FIN (a plain close) the next request's read meets EOF, closed;
// after a RST it meets ECONNRESET, reset. Tests count resets exactly (a
// conntrack flush resets each pooled flow once), so an EOF must never
// pass for one, nor a reset for an EOF.
func TestPooledCloseAndResetAreApart(t *testing.T) {
	requireRoot(t)
	const payload = 64
	// answerOnce echoes one request, then ends the connection: with a RST
	// (SO_LINGER 0), or with a FIN only. A plain close could send a RST
	// too: Linux resets a connection closed with unread data, and the next
	// request may have arrived. So the FIN comes from a half-close, and
	// the server reads on until the client goes.
	answerOnce := func(linger0 bool) func(net.Conn) {
		return func(c net.Conn) {
			defer c.Close()
			buf := make([]byte, payload)
			if _, err := io.ReadFull(c, buf); err == nil {
				_, _ = c.Write(buf)
			}
			if linger0 {
				_ = c.(*net.TCPConn).SetLinger(0)
				return
			}
			_ = c.(*net.TCPConn).CloseWrite()
			_, _ = io.Copy(io.Discard, c)
		}
	}
	for _, tc := range []struct {
		name    string
		linger0 bool
		want    Outcome
	}{
		{"fin", false, OutcomeClosed},
		{"rst", true, OutcomeReset},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln := serve(t, answerOnce(tc.linger0))
			p := Plan{Target: ln.Addr().String(), Phases: closedPhase(300*time.Millisecond, 1),
				Strategy: Strategy{Kind: KindTCP, Pool: PoolKeepAlive, PoolSize: 1, Payload: payload}}
			res := runPlan(t, p)
			c := res.Total.Counts
			// Every connection serves one request, its next one meets the
			// close; the last may end with the phase before it does.
			broken := c.Of(tc.want)
			if broken == 0 || c.Of(OutcomeOK)+broken != c.Attempts || c.Of(OutcomeOK)-broken > 1 {
				t.Fatalf("want ok and %s alternating, got %v (errors %v)", tc.want, c.Outcomes, res.Errors)
			}
			if c.NewConns != c.Of(OutcomeOK) {
				t.Errorf("%d connections for %d ok requests: the pool redials once per broken connection", c.NewConns, c.Of(OutcomeOK))
			}
			t.Logf("%v", c.Outcomes)
		})
	}
}

// Errors of class other keep their raw text.
func TestOtherKeepsRawError(t *testing.T) {
	requireRoot(t)
	ln := serve(t, func(c net.Conn) {
		defer c.Close()
		_, _ = c.Write([]byte("not http at all\r\n\r\n"))
	})
	p := Plan{Target: ln.Addr().String(), Phases: closedPhase(200*time.Millisecond, 1), Strategy: Strategy{Kind: KindHTTP1}}
	res := runPlan(t, p)
	if n := res.Total.Counts.Of(OutcomeOther); n == 0 || n != res.Total.Counts.Attempts {
		t.Fatalf("want all other, got %v", res.Total.Counts.Outcomes)
	}
	if len(res.Errors) == 0 || res.Errors[0].Outcome != OutcomeOther || res.Errors[0].Error == "" {
		t.Fatalf("want the raw error kept, got %+v", res.Errors)
	}
	t.Logf("kept: %q x%d", res.Errors[0].Error, res.Errors[0].Count)
}
