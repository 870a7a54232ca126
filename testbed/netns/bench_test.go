package netns_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natcfg"
	"github.com/natlab/natlab/testbed/netns"
	"github.com/natlab/natlab/testbed/service"
)

const (
	benchWorkers  = 32
	benchDuration = time.Second
	benchRounds   = 3
	benchPayload  = 32
)

// BenchmarkThroughNAT measures natlab's load generator through a netns NAT
// with the full port range against a minimal Go dial/echo loop run from the
// same client namespace to the same backend, and reports the ratio
// (target: at least 0.9).
func BenchmarkThroughNAT(b *testing.B) {
	tb := up(b, testbed.Spec{
		NATs:     []testbed.NATSpec{{IPs: 1, Ports: natcfg.PortRange{First: 1024, Last: 65535}}},
		Clients:  []testbed.ClientSpec{{Name: "client", Addresses: 2}},
		Backends: []testbed.BackendSpec{{Name: "echo", Protocol: service.TCPEcho, Port: 9000}},
	})
	ns, err := vnetns.GetFromName(netns.NamespaceName(tb.Run.ID, "client"))
	if err != nil {
		b.Fatal(err)
	}
	defer ns.Close()
	tgt := target(b, tb, "echo", 9000)
	// Each side dials from its own source address, so neither inherits the
	// other's TIME_WAIT sockets (connect() slows down scanning past them).
	src := sources(tb, "client")
	refSrc, genSrc := src[0], src[1]

	// The two sides take turns, so drift on a shared 2-core machine (the
	// kernel reaping TIME_WAIT state, other work) falls on both alike.
	compare := func(b *testing.B, unit string, pooled bool, st loadgen.Strategy) {
		for b.Loop() {
			var ref, got float64
			for range benchRounds {
				ref += referenceLoop(b, ns, refSrc, tgt, pooled)
				got += loadgenRate(b, tb, genSrc, tgt, st)
			}
			b.ReportMetric(ref/benchRounds, "ref-"+unit)
			b.ReportMetric(got/benchRounds, "natlab-"+unit)
			b.ReportMetric(got/ref, "ratio")
		}
	}
	b.Run("unpooled", func(b *testing.B) {
		compare(b, "conns/s", false, loadgen.Strategy{Kind: loadgen.KindTCP, Pool: loadgen.PoolNone, Payload: benchPayload})
	})
	b.Run("pooled", func(b *testing.B) {
		compare(b, "req/s", true, loadgen.Strategy{Kind: loadgen.KindTCP, Pool: loadgen.PoolKeepAlive, PoolSize: benchWorkers, Payload: benchPayload})
	})
}

// loadgenRate runs a closed loop of benchWorkers on the client agent and
// returns ok attempts per second.
func loadgenRate(b *testing.B, tb *testbed.Testbed, src netip.Addr, tgt string, st loadgen.Strategy) float64 {
	plan := loadgen.Plan{Target: tgt, Strategy: st, Sources: []netip.Addr{src},
		Phases: []loadgen.Phase{{Name: "bench", Duration: benchDuration, Schedule: loadgen.Schedule{Kind: loadgen.ScheduleClosed, Concurrency: benchWorkers}}}}
	var res loadgen.Result
	if err := tb.Agent("client").Call(context.Background(), wire.OpLoadRun, plan, &res); err != nil {
		b.Fatal(err)
	}
	if e := res.Total.Counts.Errors(); e > 0 {
		b.Fatalf("natlab load had %d errors: %v", e, res.Total.Counts.Outcomes)
	}
	return float64(res.Total.Counts.Of(loadgen.OutcomeOK)) / benchDuration.Seconds()
}

// referenceLoop is the minimal dial/echo loop: benchWorkers goroutines,
// each creating its sockets from a thread inside the client namespace.
// Unpooled it dials per exchange; pooled it keeps one connection each.
func referenceLoop(b *testing.B, ns vnetns.NsHandle, src netip.Addr, tgt string, pooled bool) float64 {
	d := net.Dialer{
		LocalAddr: &net.TCPAddr{IP: src.AsSlice()},
		Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) {
				_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
			})
		},
	}
	var n atomic.Int64
	var failed atomic.Int64
	deadline := time.Now().Add(benchDuration)
	dial := func() (net.Conn, error) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		orig, err := vnetns.Get()
		if err != nil {
			return nil, err
		}
		defer orig.Close()
		if err := vnetns.Set(ns); err != nil {
			return nil, err
		}
		c, dialErr := d.Dial("tcp", tgt)
		if err := vnetns.Set(orig); err != nil {
			panic(fmt.Sprintf("restore netns: %v", err)) // the thread is unusable
		}
		return c, dialErr
	}
	exchange := func(c net.Conn, buf []byte) error {
		if _, err := c.Write(buf); err != nil {
			return err
		}
		_, err := io.ReadFull(c, buf)
		return err
	}
	var wg sync.WaitGroup
	for range benchWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, benchPayload)
			var c net.Conn
			for time.Now().Before(deadline) {
				var err error
				if c == nil {
					if c, err = dial(); err != nil {
						failed.Add(1)
						continue
					}
				}
				err = exchange(c, buf)
				if !pooled || err != nil {
					c.Close()
					c = nil
				}
				if err != nil {
					failed.Add(1)
					continue
				}
				n.Add(1)
			}
			if c != nil {
				c.Close()
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		b.Fatalf("reference loop had %d failures", f)
	}
	return float64(n.Load()) / benchDuration.Seconds()
}
