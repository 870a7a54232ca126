package loadgen

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stallingEcho echoes, but once, stallAfter into the test, it stalls every
// answer until stall later (as a NAT that stops forwarding for a while).
func stallingEcho(stallAfter, stall time.Duration) func(net.Conn) {
	begin := time.Now()
	var once sync.Once
	var mu sync.Mutex
	var until time.Time
	return func(c net.Conn) {
		defer c.Close()
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			if time.Since(begin) >= stallAfter {
				once.Do(func() { mu.Lock(); until = time.Now().Add(stall); mu.Unlock() })
			}
			mu.Lock()
			wait := time.Until(until)
			mu.Unlock()
			time.Sleep(wait)
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
	}
}

// Open schedule: a 2 s stall shows as >= ~2 s of latency at p99, because
// latency counts from the intended send time, not from when the client
// got round to sending.
func TestOpenScheduleShowsStallAsLatency(t *testing.T) {
	requireRoot(t)
	ln := serve(t, stallingEcho(500*time.Millisecond, 2*time.Second))
	p := Plan{Target: ln.Addr().String(), Strategy: Strategy{Kind: KindTCP, Pool: PoolKeepAlive, PoolSize: 1},
		Phases: []Phase{{Name: "open", Duration: 3 * time.Second, Schedule: Schedule{Kind: ScheduleOpen, Rate: RatePerSecond(200)}}}}
	res := runPlan(t, p)
	c := res.Total.Counts
	if c.Attempts != 600 || c.Of(OutcomeOK) != 600 {
		t.Fatalf("want 600 ok attempts at 200/s for 3 s, got %d: %v (errors %v)", c.Attempts, c.Outcomes, res.Errors)
	}
	s := res.Total.Request.Summary()
	if s.P99 < 1900*time.Millisecond || s.Max < 1950*time.Millisecond {
		t.Fatalf("stall of 2 s hidden: p99 %s max %s", s.P99, s.Max)
	}
	if s.P50 < 100*time.Millisecond {
		t.Fatalf("half the arrivals came during the stall, p50 %s looks like coordinated omission", s.P50)
	}
	t.Logf("request latency: p50 %s p90 %s p99 %s max %s", s.P50, s.P90, s.P99, s.Max)
}

// Ramp and spike send the number of arrivals their rates integrate to.
func TestArrivalSchedulesSendTheirCount(t *testing.T) {
	requireRoot(t)
	ln := serve(t, echoHandler)
	tests := []struct {
		sc   Schedule
		want uint64
	}{
		{Schedule{Kind: ScheduleOpen, Rate: RatePerSecond(100)}, 100},
		{Schedule{Kind: ScheduleRamp, From: RatePerSecond(0), To: RatePerSecond(200)}, 100},
		{Schedule{Kind: ScheduleSpike, Rate: RatePerSecond(50), SpikeRate: RatePerSecond(450), SpikeAt: 500 * time.Millisecond, SpikeFor: 250 * time.Millisecond}, 150},
	}
	for _, tc := range tests {
		t.Run(tc.sc.Kind, func(t *testing.T) {
			p := Plan{Target: ln.Addr().String(), Strategy: Strategy{Kind: KindTCP},
				Phases: []Phase{{Name: tc.sc.Kind, Duration: time.Second, Schedule: tc.sc}}}
			start := time.Now()
			res := runPlan(t, p)
			if got := res.Total.Counts.Attempts; got != tc.want || res.Total.Counts.Of(OutcomeOK) != got {
				t.Fatalf("want %d ok attempts, got %v", tc.want, res.Total.Counts)
			}
			// The arrivals span the phase: it cannot end sooner. How much
			// later is the machine's pace, not the schedule's.
			if el := time.Since(start); el < time.Second {
				t.Fatalf("phase of 1 s took %s", el)
			}
		})
	}
}

// Arrivals beyond MaxInFlight are dropped by the client and counted.
func TestMaxInFlightDropsAreCounted(t *testing.T) {
	requireRoot(t)
	ln := serve(t, silentHandler)
	p := Plan{Target: ln.Addr().String(), Strategy: Strategy{Kind: KindTCP}, MaxInFlight: 10, RequestTimeout: 2 * time.Second,
		Phases: []Phase{{Name: "open", Duration: 500 * time.Millisecond, Schedule: Schedule{Kind: ScheduleOpen, Rate: RatePerSecond(200)}}}}
	res := runPlan(t, p)
	c := res.Total.Counts
	if c.Attempts != 100 || c.Of(OutcomeDropped) != 90 || c.Of(OutcomeReadTimeout) != 10 {
		t.Fatalf("want 100 attempts = 10 read timeouts + 90 dropped, got %d %v", c.Attempts, c.Outcomes)
	}
}

// Hold keeps thousands of connections open across source addresses, and
// closes them when the run ends. The run is ended once all are open (the
// hold would go on for a minute): how fast 9,000 dials go is the machine's
// pace, and a 6 s phase cut the launching short on a loaded one.
func TestHoldThousandsAcrossSources(t *testing.T) {
	requireRoot(t)
	const n = 9000 // client and server share this process's 20,000 files
	var closed atomic.Int64
	ln := serve(t, func(c net.Conn) {
		silentHandler(c) // returns when the client closes
		closed.Add(1)
	})
	srcs := []netip.Addr{netip.MustParseAddr("127.0.1.1"), netip.MustParseAddr("127.0.1.2"), netip.MustParseAddr("127.0.1.3")}
	// A dial is done once the kernel queues its connection for accept, so
	// on a loaded machine (-race, -p 4) the test server's accept loop falls
	// behind, its queue (somaxconn, 4,096) overflows and SYNs are dropped:
	// 3 of 9,000 once missed a 3 s connect timeout. Their retransmits (1 s
	// apart at first) connect once the loop catches up, so connects get
	// the time the retry schedule needs, 30 s.
	p := Plan{Target: ln.Addr().String(), Sources: srcs, Strategy: Strategy{Kind: KindTCP}, Tick: 100 * time.Millisecond, MaxInFlight: 2048,
		ConnectTimeout: 30 * time.Second,
		Phases:         []Phase{{Name: "hold", Duration: 2 * time.Minute, Schedule: Schedule{Kind: ScheduleHold, Hold: n}}}}
	var peak, ended, connected atomic.Int64
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	type ran struct {
		res *Result
		err error
	}
	done := make(chan ran, 1)
	go func() {
		res, err := Run(ctx, p, func(s Sample) {
			if s.OpenConns > peak.Load() {
				peak.Store(s.OpenConns)
			}
			for o, k := range s.Outcomes {
				ended.Add(int64(k))
				if o == OutcomeOK {
					connected.Add(int64(k))
				}
			}
		})
		done <- ran{res, err}
	}()
	// Until every dial has ended (and been sampled open, if it connected).
	deadline := time.Now().Add(5 * time.Minute)
	for (ended.Load() < n || peak.Load() < connected.Load()) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	r := <-done
	if r.res == nil {
		t.Fatalf("no result: %v", r.err)
	}
	if err := r.res.Check(); err != nil {
		t.Fatal(err)
	}
	c := r.res.Phases[0].Counts
	if peak.Load() != n || c.Attempts != n || c.Of(OutcomeOK) != n || c.Lost != 0 || ln.accepts.Load() != n {
		t.Fatalf("want %d held, got peak %d, %v lost %d accepts %d (errors %v)", n, peak.Load(), c.Outcomes, c.Lost, ln.accepts.Load(), r.res.Errors)
	}
	waitFor(t, func() bool { return closed.Load() == n })
	t.Logf("held %d connections from 3 sources; connect p99 %s", n, r.res.Phases[0].Connect.Quantile(0.99))
}

// A held connection that ends early counts as lost, classed by how it
// ended; it stays ok. Here half the server's connections are reset (RST)
// and half closed (FIN) 200 ms into a 600 ms hold.
func TestHoldCountsLostConnectionsByClass(t *testing.T) {
	requireRoot(t)
	var n atomic.Int64
	ln := serve(t, func(c net.Conn) {
		time.Sleep(200 * time.Millisecond)
		if n.Add(1)%2 == 0 {
			_ = c.(*net.TCPConn).SetLinger(0)
		}
		_ = c.Close()
	})
	p := Plan{Target: ln.Addr().String(), Strategy: Strategy{Kind: KindTCP},
		Phases: []Phase{{Name: "hold", Duration: 600 * time.Millisecond, Schedule: Schedule{Kind: ScheduleHold, Hold: 20}}}}
	res := runPlan(t, p)
	c := res.Total.Counts
	if c.Of(OutcomeOK) != 20 || c.Lost != 20 {
		t.Fatalf("want 20 ok and 20 lost, got %v lost %d", c.Outcomes, c.Lost)
	}
	if c.LostBy[OutcomeReset] != 10 || c.LostBy[OutcomeClosed] != 10 {
		t.Fatalf("want 10 lost to a reset and 10 to a close, got %v", c.LostBy)
	}
}

// Check refuses early ends that lack a class, or classes without an end.
func TestCheckWantsEveryLostConnectionClassed(t *testing.T) {
	ok := Counts{Attempts: 2, Outcomes: map[Outcome]uint64{OutcomeOK: 2}, Lost: 2, LostBy: map[Outcome]uint64{OutcomeReset: 1, OutcomeClosed: 1}}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	unclassed := ok
	unclassed.LostBy = map[Outcome]uint64{OutcomeReset: 1}
	if err := unclassed.Check(); err == nil {
		t.Fatal("a lost connection without a class passed Check")
	}
	extra := ok
	extra.Lost = 1
	if err := extra.Check(); err == nil {
		t.Fatal("more classed early ends than lost connections passed Check")
	}
}

// A run stopped early (load.stop, Ctrl-C) ends its held connections, and
// that is no loss: cancelling the run sets a past deadline on every
// connection, whose watcher then saw a read error before the hold closed
// them and counted most of them lost.
func TestStoppedHoldLosesNothing(t *testing.T) {
	requireRoot(t)
	ln := serve(t, silentHandler)
	p := Plan{Target: ln.Addr().String(), Strategy: Strategy{Kind: KindTCP},
		Phases: []Phase{{Name: "hold", Duration: time.Minute, Schedule: Schedule{Kind: ScheduleHold, Hold: 50}}}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan *Result, 1)
	go func() {
		res, _ := Run(ctx, p, nil)
		done <- res
	}()
	waitFor(t, func() bool { return ln.accepts.Load() == 50 })
	cancel()
	res := <-done
	if res == nil {
		t.Fatal("no result")
	}
	// The server accepts before the client's connect returns, so a dial
	// may still be under way at the stop: it ends as cancelled.
	if c := res.Total.Counts; c.Of(OutcomeOK)+c.Of(OutcomeCancelled) != 50 || c.Lost != 0 {
		t.Fatalf("want 50 ok (or cancelled) and none lost, got %v lost %d", c.Outcomes, c.Lost)
	}
}

// Samples arrive every tick while the run goes on and add up to the result.
func TestSamplesAddUpToResult(t *testing.T) {
	requireRoot(t)
	ln := serve(t, echoHandler)
	p := Plan{Target: ln.Addr().String(), Strategy: Strategy{Kind: KindTCP}, Tick: 100 * time.Millisecond,
		Phases: []Phase{
			{Name: "a", Duration: 350 * time.Millisecond, Schedule: Schedule{Kind: ScheduleOpen, Rate: RatePerSecond(400)}},
			{Name: "b", Duration: 300 * time.Millisecond, Schedule: Schedule{Kind: ScheduleClosed, Concurrency: 2}},
		}}
	var got []Sample
	start := time.Now()
	var firstAt time.Duration
	res := runPlanWithSamples(t, p, func(s Sample) {
		if len(got) == 0 {
			firstAt = time.Since(start)
		}
		got = append(got, s)
	})
	// 6 ticks + the final one; a loaded machine may skip a tick.
	if len(got) < 5 || len(got) > 7 || firstAt > 300*time.Millisecond {
		t.Fatalf("want ~7 samples (6 ticks + final), the first after ~100ms; got %d, first at %s", len(got), firstAt)
	}
	var sum Counts
	phases := map[string]bool{}
	for i, s := range got {
		sum.Attempts += s.Attempts
		sum.NewConns += s.NewConns
		for k, v := range s.Outcomes {
			if sum.Outcomes == nil {
				sum.Outcomes = map[Outcome]uint64{}
			}
			sum.Outcomes[k] += v
		}
		// The ticks so far: attempts = outcomes + the gauge now.
		sum.InFlight = s.InFlight
		if err := sum.Check(); err != nil {
			t.Fatalf("samples 0..%d: %v", i, err)
		}
		phases[s.Phase] = true
	}
	if err := sum.CheckFinished(); err != nil {
		t.Fatalf("all samples: %v", err)
	}
	tot := res.Total.Counts
	if sum.Attempts != tot.Attempts || sum.Of(OutcomeOK) != tot.Of(OutcomeOK) || sum.NewConns != tot.NewConns {
		t.Fatalf("samples sum to %+v, result says %+v", sum, tot)
	}
	if !phases["a"] || !phases["b"] || got[0].AttemptsPerSec() < 300 {
		t.Fatalf("phases %v, first tick %.0f attempts/s (want ~400)", phases, got[0].AttemptsPerSec())
	}
}

func runPlanWithSamples(t *testing.T, p Plan, f func(Sample)) *Result {
	t.Helper()
	res, err := Run(context.Background(), p, f)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if err := res.CheckFinished(); err != nil {
		t.Fatalf("accounting: %v", err)
	}
	return res
}

// The invariant holds exactly under every strategy, also when the run is
// cancelled mid-way with attempts in flight: those end as cancelled.
func TestInvariantUnderCancel(t *testing.T) {
	requireRoot(t)
	slowHTTP := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if time.Now().UnixNano()%2 == 0 {
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		}
		w.WriteHeader(200)
	})
	slowEcho := stallingEcho(100*time.Millisecond, 2*time.Second)
	tests := []struct {
		name   string
		strat  Strategy
		target func(t *testing.T) string
	}{
		{"tcp", Strategy{Kind: KindTCP}, func(t *testing.T) string { return serve(t, slowEcho).Addr().String() }},
		{"tcp pooled", Strategy{Kind: KindTCP, Pool: PoolKeepAlive, PoolSize: 4}, func(t *testing.T) string { return serve(t, slowEcho).Addr().String() }},
		{"http1", Strategy{Kind: KindHTTP1}, func(t *testing.T) string { return serveHTTP(t, false, slowHTTP).Addr().String() }},
		{"http1 keepalive", Strategy{Kind: KindHTTP1, Pool: PoolKeepAlive, PoolSize: 4}, func(t *testing.T) string { return serveHTTP(t, false, slowHTTP).Addr().String() }},
		{"h2c", Strategy{Kind: KindH2C, PoolSize: 2}, func(t *testing.T) string { return serveHTTP(t, true, slowHTTP).Addr().String() }},
		{"udp", Strategy{Kind: KindUDP}, func(t *testing.T) string { return silentUDP(t) }},
		{"udp one socket", Strategy{Kind: KindUDP, Pool: PoolKeepAlive}, func(t *testing.T) string { return serveUDP(t).LocalAddr().String() }},
	}
	for _, tc := range tests {
		for _, sched := range []Schedule{{Kind: ScheduleOpen, Rate: RatePerSecond(500)}, {Kind: ScheduleClosed, Concurrency: 8}, {Kind: ScheduleHold, Hold: 50}} {
			t.Run(tc.name+"/"+sched.Kind, func(t *testing.T) {
				p := Plan{Target: tc.target(t), Strategy: tc.strat, RequestTimeout: 10 * time.Second,
					Phases: []Phase{
						{Name: "one", Duration: 200 * time.Millisecond, Schedule: sched},
						{Name: "two", Duration: 5 * time.Second, Schedule: sched},
						{Name: "three", Duration: time.Second, Schedule: sched},
					}}
				ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
				defer cancel()
				start := time.Now()
				res, err := Run(ctx, p, nil)
				if !errors.Is(err, context.DeadlineExceeded) || res == nil {
					t.Fatalf("want a partial result and the ctx error, got %v", err)
				}
				// A run that ignored the cancel would play all 6.2 s of
				// its phases; stopping at the cancel takes a fraction.
				if el := time.Since(start); el >= 6200*time.Millisecond {
					t.Fatalf("cancelled run took %s to return: the cancel was not heeded", el)
				}
				if err := res.Check(); err != nil {
					t.Fatal(err)
				}
				c := res.Total.Counts
				if c.Attempts == 0 || c.InFlight != 0 || len(res.Phases) != 3 || res.Phases[2].Counts.Attempts != 0 {
					t.Fatalf("counts %+v, phases %d", c, len(res.Phases))
				}
				t.Logf("%v %v", c.Outcomes, res.Errors)
			})
		}
	}
}

// silentUDP returns the address of a UDP socket that never answers.
func silentUDP(t *testing.T) string {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("listen udp: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c.LocalAddr().String()
}

// A hold with a ramp opens its connections at the ramp's rate: the i-th
// dial is due at i/rate and never starts before it, so at every tick the
// attempts so far are at most those due by then (plus the one due at the
// tick's edge), whatever the load on the machine. How late dials start
// on a busy machine is a timing figure, not checked here; that the ramp
// spreads them at all is: a hold that ignored its ramp would have made
// all n attempts by the first tick.
func TestHoldRampArrivesAtItsRate(t *testing.T) {
	const (
		n    = 1000
		rate = 500
		tick = 200 * time.Millisecond
	)
	ln := serve(t, silentHandler)
	p := Plan{Target: ln.Addr().String(), Strategy: Strategy{Kind: KindTCP}, Tick: tick,
		Phases: []Phase{{Name: "hold", Duration: 2500 * time.Millisecond,
			Schedule: Schedule{Kind: ScheduleHold, Hold: n, HoldRamp: RatePerSecond(rate)}}}}
	// A sample is stamped with its tick's time but read a moment later,
	// on a busy machine much later: the test takes the time it sees the
	// sample, which is after the read, so the dials due by then bound the
	// attempts the sample counted.
	var samples []Sample
	var seen []time.Duration
	t0 := time.Now() // before Run's own start
	res, err := Run(t.Context(), p, func(s Sample) { samples = append(samples, s); seen = append(seen, time.Since(t0)) })
	if err != nil {
		t.Fatal(err)
	}
	if err := res.CheckFinished(); err != nil {
		t.Fatal(err)
	}
	if c := res.Phases[0].Counts; c.Attempts != n || c.Of(OutcomeOK) != n {
		t.Fatalf("want %d held, got %d attempts %v", n, c.Attempts, c.Outcomes)
	}
	ramp := time.Duration(n) * time.Second / rate // 2 s
	var cum uint64
	inside := 0
	for i, s := range samples {
		cum += s.Attempts
		// The dials due by the time the sample was seen are
		// floor(rate*seen)+1 (the first is due at 0).
		due := min(uint64(n), uint64(rate*seen[i].Seconds())+1)
		if cum > due {
			t.Errorf("by %s (tick %s): %d attempts, ahead of the ramp's %d (%d/s)", seen[i], s.At, cum, due, rate)
		}
		if s.At < ramp-tick {
			inside++
			if cum >= n {
				t.Errorf("by %s, inside the %s ramp: all %d attempts made", s.At, ramp, n)
			}
		}
	}
	if inside == 0 {
		t.Fatalf("no tick inside the ramp: %+v", samples)
	}
}

// A ramp too slow to open every connection within the phase is refused.
func TestHoldRampLongerThanThePhaseIsRefused(t *testing.T) {
	p := Plan{Target: "127.0.0.1:1", Strategy: Strategy{Kind: KindTCP},
		Phases: []Phase{{Name: "hold", Duration: time.Second,
			Schedule: Schedule{Kind: ScheduleHold, Hold: 1000, HoldRamp: RatePerSecond(100)}}}}
	err := p.Validate()
	if err == nil || !strings.Contains(err.Error(), "longer than the phase") {
		t.Fatalf("Validate = %v, want a ramp longer than the phase refused", err)
	}
}

// A hold's dial that its phase's end finds still under way held nothing:
// it is cancelled, not left to connect after the phase (when the phase's
// closing connections may have given a NAT port back) and counted ok.
func TestHoldDialCutByThePhaseEndIsCancelled(t *testing.T) {
	p := Plan{Target: fullBacklog(t), Strategy: Strategy{Kind: KindTCP}, ConnectTimeout: 10 * time.Second,
		Phases: []Phase{{Name: "hold", Duration: 500 * time.Millisecond,
			Schedule: Schedule{Kind: ScheduleHold, Hold: 4}}}}
	res, err := Run(t.Context(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.CheckFinished(); err != nil {
		t.Fatal(err)
	}
	c := res.Phases[0].Counts
	if c.Attempts != 4 || c.Of(OutcomeCancelled) != 4 {
		t.Fatalf("want the 4 dials into a full backlog cancelled at the phase end, got %v", c.Outcomes)
	}
}
