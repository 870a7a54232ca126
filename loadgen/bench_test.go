package loadgen

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// benchWindow is how long each side of a benchmark runs.
const benchWindow = time.Second

// referenceRate runs a minimal loop for benchWindow and returns its ops/s:
// pooled reuses one connection, unpooled dials per request.
func referenceRate(b *testing.B, addr string, pooled bool) float64 {
	b.Helper()
	out, in := make([]byte, DefaultPayload), make([]byte, DefaultPayload)
	var c net.Conn
	var err error
	if pooled {
		if c, err = net.Dial("tcp", addr); err != nil {
			b.Fatal(err)
		}
		defer c.Close()
	}
	n := 0
	end := time.Now().Add(benchWindow)
	start := time.Now()
	for time.Now().Before(end) {
		if !pooled {
			if c, err = net.Dial("tcp", addr); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := c.Write(out); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, in); err != nil {
			b.Fatal(err)
		}
		if !pooled {
			_ = c.Close()
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds()
}

// loadgenRate runs the same work through Run (closed loop, one worker).
func loadgenRate(b *testing.B, addr string, s Strategy) float64 {
	b.Helper()
	p := Plan{Target: addr, Strategy: s, Phases: closedPhaseB(benchWindow)}
	res, err := Run(context.Background(), p, nil)
	if err != nil {
		b.Fatal(err)
	}
	c := res.Total.Counts
	if c.Of(OutcomeOK) != c.Attempts {
		b.Fatalf("benchmark attempts failed: %v %v", c.Outcomes, res.Errors)
	}
	return float64(c.Attempts) / res.Elapsed.Seconds()
}

func closedPhaseB(d time.Duration) []Phase {
	return []Phase{{Name: "bench", Duration: d, Schedule: Schedule{Kind: ScheduleClosed, Concurrency: 1}}}
}

// benchRounds is how many rounds each side runs per benchmark iteration;
// rounds alternate which side goes first.
const benchRounds = 4

func benchAgainstReference(b *testing.B, s Strategy, pooled bool, unit string) {
	requireRoot(b)
	addr := serve(b, echoHandler).Addr().String()
	var ref, got float64
	for b.Loop() {
		ref, got = 0, 0
		for round := range benchRounds {
			// Alternate the order, so that both sides see the same machine
			// noise and neither always inherits the other's TIME_WAIT churn.
			if round%2 == 0 {
				ref += referenceRate(b, addr, pooled)
				got += loadgenRate(b, addr, s)
			} else {
				got += loadgenRate(b, addr, s)
				ref += referenceRate(b, addr, pooled)
			}
		}
	}
	b.ReportMetric(got/benchRounds, unit)
	b.ReportMetric(ref/benchRounds, "ref_"+unit)
	b.ReportMetric(got/ref, "ratio")
}

// BenchmarkUnpooledTCP: new connections per second through loadgen versus
// a bare net.Dial + echo + Close loop.
func BenchmarkUnpooledTCP(b *testing.B) {
	benchAgainstReference(b, Strategy{Kind: KindTCP}, false, "conns/s")
}

// BenchmarkPooledTCP: requests per second over one pooled connection
// versus a bare write + read loop on one connection.
func BenchmarkPooledTCP(b *testing.B) {
	benchAgainstReference(b, Strategy{Kind: KindTCP, Pool: PoolKeepAlive, PoolSize: 1}, true, "req/s")
}
