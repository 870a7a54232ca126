package loadgen

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A keep-alive pool of N opens at most N connections, whatever the load.
func TestKeepAlivePoolOpensAtMostN(t *testing.T) {
	requireRoot(t)
	for _, kind := range []string{KindTCP, KindHTTP1} {
		t.Run(kind, func(t *testing.T) {
			var ln *countingListener
			if kind == KindTCP {
				ln = serve(t, echoHandler)
			} else {
				ln = serveHTTP(t, false, statusHandler(200))
			}
			p := Plan{Target: ln.Addr().String(), Phases: closedPhase(400*time.Millisecond, 16),
				Strategy: Strategy{Kind: kind, Pool: PoolKeepAlive, PoolSize: 4}}
			res := runPlan(t, p)
			c := res.Total.Counts
			if c.Attempts == 0 || c.Of(OutcomeOK) != c.Attempts {
				t.Fatalf("want every attempt ok, got %v", c.Outcomes)
			}
			// 16 workers want a connection at once: the pool opens all 4 of
			// its connections, and not one more (a pool of one would not do).
			if got := ln.accepts.Load(); got != 4 || c.NewConns != uint64(got) {
				t.Fatalf("pool of 4 opened %d connections (loadgen counted %d), want 4", got, c.NewConns)
			}
			t.Logf("%d requests over %d connections", c.Attempts, ln.accepts.Load())
		})
	}
}

// Pooled connections are retired by age and by request count.
func TestPoolRetiresConnections(t *testing.T) {
	requireRoot(t)
	ln := serve(t, echoHandler)
	p := Plan{Target: ln.Addr().String(), Phases: closedPhase(300*time.Millisecond, 1),
		Strategy: Strategy{Kind: KindTCP, Pool: PoolKeepAlive, PoolSize: 1, MaxRequestsPerConn: 10}}
	res := runPlan(t, p)
	c := res.Total.Counts
	want := (c.Attempts + 9) / 10
	if c.NewConns != want || uint64(ln.accepts.Load()) != want {
		t.Fatalf("10 requests per conn: %d attempts want %d conns, got %d (accepts %d)", c.Attempts, want, c.NewConns, ln.accepts.Load())
	}

	ln2 := serve(t, echoHandler)
	p.Target, p.Strategy.MaxRequestsPerConn, p.Strategy.MaxConnAge = ln2.Addr().String(), 0, 100*time.Millisecond
	begin := time.Now()
	res = runPlan(t, p)
	// No connection serves past 100 ms: at least one per 100 ms of the
	// phase, and, each serving until its age, at most one per 100 ms of
	// the run as long as it took (a slow machine may stretch the run).
	most := int64(time.Since(begin)/(100*time.Millisecond)) + 1
	if n := ln2.accepts.Load(); n < 3 || n > most {
		t.Fatalf("max age 100ms over 300ms: want 3 to %d connections, got %d", most, n)
	}
}

// An idle pooled connection is closed by the idle timeout even when no
// request comes to notice it.
func TestPoolIdleTimeoutClosesIdleConns(t *testing.T) {
	requireRoot(t)
	ln := serve(t, echoHandler)
	var open []int64
	p := Plan{Target: ln.Addr().String(), Tick: 100 * time.Millisecond,
		Strategy: Strategy{Kind: KindTCP, Pool: PoolKeepAlive, PoolSize: 2, IdleTimeout: 150 * time.Millisecond},
		Phases: []Phase{
			{Name: "busy", Duration: 200 * time.Millisecond, Schedule: Schedule{Kind: ScheduleClosed, Concurrency: 2}},
			{Name: "quiet", Duration: 500 * time.Millisecond, Schedule: Schedule{Kind: ScheduleClosed}},
		}}
	res, err := Run(t.Context(), p, func(s Sample) { open = append(open, s.OpenConns) })
	if err != nil {
		t.Fatal(err)
	}
	if open[0] != 2 || open[len(open)-1] != 0 {
		t.Fatalf("open connections per tick %v: want 2 while busy and 0 after the idle timeout", open)
	}
	if res.Total.Counts.NewConns != 2 {
		t.Fatalf("want 2 connections, got %d", res.Total.Counts.NewConns)
	}
}

// h2c multiplexes everything over PoolSize connections (default one).
func TestH2COpensOneConnection(t *testing.T) {
	requireRoot(t)
	ln := serveHTTP(t, true, statusHandler(200))
	p := Plan{Target: ln.Addr().String(), Phases: closedPhase(400*time.Millisecond, 32),
		Strategy: Strategy{Kind: KindH2C}}
	res := runPlan(t, p)
	c := res.Total.Counts
	// How many requests 32 workers fit in 400 ms is the machine's pace (469
	// under -p 4 once); that all succeed over one connection is not.
	if c.Attempts == 0 || c.Of(OutcomeOK) != c.Attempts {
		t.Fatalf("want every attempt ok, got %v (errors %v)", c.Outcomes, res.Errors)
	}
	if ln.accepts.Load() != 1 || c.NewConns != 1 {
		t.Fatalf("h2c opened %d connections (loadgen counted %d), want 1", ln.accepts.Load(), c.NewConns)
	}
	t.Logf("%d concurrent-32 requests over 1 connection", c.Attempts)
}

// Sources are used round-robin, each connection from the next one.
func TestSourcesRoundRobin(t *testing.T) {
	requireRoot(t)
	seen := map[string]int{}
	ln := serve(t, echoHandler)
	srcs := []netip.Addr{netip.MustParseAddr("127.0.0.4"), netip.MustParseAddr("127.0.0.5"), netip.MustParseAddr("127.0.0.6")}
	rec := newRecorder(Plan{Phases: closedPhase(time.Second, 1)})
	d, err := newDialer(Plan{Target: ln.Addr().String(), Sources: srcs, ConnectTimeout: time.Second}, "tcp", rec)
	if err != nil {
		t.Fatal(err)
	}
	for range 9 {
		c, err := d.dial(t.Context(), rec.phases[0])
		if err != nil {
			t.Fatal(err)
		}
		seen[c.LocalAddr().(*net.TCPAddr).IP.String()]++
		_ = c.Close()
	}
	for _, s := range srcs {
		if seen[s.String()] != 3 {
			t.Fatalf("round-robin over 3 sources, 9 dials: got %v", seen)
		}
	}
}

// With PoolPerSource every source address has its own pool of PoolSize,
// as that many servers each with a keep-alive pool would: 16 workers over
// 5 sources want 3 or 4 connections from each address at once, and each
// address opens exactly its 2, 10 in all, where one pool for the load
// opens 2 in all.
func TestPoolPerSource(t *testing.T) {
	requireRoot(t)
	var mu sync.Mutex
	from := map[string]int{}
	ln := serve(t, func(c net.Conn) {
		mu.Lock()
		from[c.RemoteAddr().(*net.TCPAddr).IP.String()]++
		mu.Unlock()
		echoHandler(c)
	})
	var srcs []netip.Addr
	for i := range 5 {
		srcs = append(srcs, netip.AddrFrom4([4]byte{127, 0, 0, byte(10 + i)}))
	}
	p := Plan{Target: ln.Addr().String(), Sources: srcs, Phases: closedPhase(400*time.Millisecond, 16),
		Strategy: Strategy{Kind: KindTCP, Pool: PoolKeepAlive, PoolSize: 2, PoolPer: PoolPerSource}}
	res := runPlan(t, p)
	c := res.Total.Counts
	if c.Attempts == 0 || c.Of(OutcomeOK) != c.Attempts {
		t.Fatalf("want every attempt ok, got %v", c.Outcomes)
	}
	mu.Lock()
	for _, s := range srcs {
		if from[s.String()] != 2 {
			t.Errorf("source %s opened %d connections, want its pool's 2 (all: %v)", s, from[s.String()], from)
		}
	}
	mu.Unlock()
	if got := ln.accepts.Load(); got != 10 || c.NewConns != 10 {
		t.Fatalf("5 sources x pool of 2: %d connections accepted, loadgen counted %d, want 10", got, c.NewConns)
	}

	ln2 := serve(t, echoHandler)
	p.Target, p.Strategy.PoolPer = ln2.Addr().String(), PoolPerLoad
	res = runPlan(t, p)
	if got := ln2.accepts.Load(); got != 2 || res.Total.Counts.NewConns != 2 {
		t.Fatalf("one pool of 2 for the load: %d connections accepted, loadgen counted %d, want 2", got, res.Total.Counts.NewConns)
	}
}

// natlab's connections send no TCP keep-alive probes: SO_KEEPALIVE is off
// on a dialed socket (Go's default would turn it on, every 15 s).
func TestDialNoKeepAlive(t *testing.T) {
	ln := serve(t, echoHandler)
	rec := newRecorder(Plan{Phases: closedPhase(time.Second, 1)})
	d, err := newDialer(Plan{Target: ln.Addr().String(), ConnectTimeout: time.Second}, "tcp", rec)
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.dial(t.Context(), rec.phases[0])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if on := keepAliveOn(t, c.(*countedConn).Conn.(*net.TCPConn)); on {
		t.Error("SO_KEEPALIVE is on on a dialed connection, want off")
	}
}

// keepAliveOn reads SO_KEEPALIVE of c.
func keepAliveOn(t *testing.T, c *net.TCPConn) bool {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	if err := rc.Control(func(fd uintptr) { v, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_KEEPALIVE) }); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatal(gerr)
	}
	return v != 0
}
