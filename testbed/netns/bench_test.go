package netns_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
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
// with the full port range against a minimal Go dial/echo loop, and
// reports the ratio (target: at least 0.9). Both run the same way: as a
// process of their own started inside the client namespace (natlab's client
// agent; the reference re-executes this test binary), each on its own
// source address. Rounds alternate which side goes first, so drift on a
// shared 2-core machine (the kernel reaping TIME_WAIT state, other work)
// falls on both alike.
func BenchmarkThroughNAT(b *testing.B) {
	tb := up(b, testbed.Spec{
		NATs:     []testbed.NATSpec{{IPs: 1, Ports: portrange.Range{First: 1024, Last: 65535}}},
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

	compare := func(b *testing.B, unit string, pooled bool, st loadgen.Strategy) {
		for b.Loop() {
			var ref, got float64
			for round := range benchRounds {
				runRef := func() { ref += referenceRate(b, ns, refSrc, tgt, pooled) }
				runGen := func() { got += loadgenRate(b, tb, genSrc, tgt, st) }
				if round%2 == 0 {
					runRef()
					runGen()
				} else {
					runGen()
					runRef()
				}
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

// referenceEnv makes the test binary run the reference loop instead of the
// tests; its value is a referenceJob in JSON.
const referenceEnv = "NATLAB_BENCH_REFERENCE"

// referenceJob is what one reference process runs and what it answers.
type referenceJob struct {
	Source netip.Addr    `json:"source"`
	Target string        `json:"target"`
	Pooled bool          `json:"pooled"`
	Window time.Duration `json:"window"`
	// Rate and Failed are the answer, printed as JSON on stdout.
	Rate   float64 `json:"rate"`
	Failed int64   `json:"failed"`
}

// referenceRate runs the reference loop as a process of its own inside ns
// and returns its exchanges per second.
func referenceRate(b *testing.B, ns vnetns.NsHandle, src netip.Addr, tgt string, pooled bool) float64 {
	job, err := json.Marshal(referenceJob{Source: src, Target: tgt, Pooled: pooled, Window: benchDuration})
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), referenceEnv+"="+string(job))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := netns.StartIn(ns, cmd); err != nil {
		b.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		b.Fatalf("reference process: %v", err)
	}
	var res referenceJob
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		b.Fatalf("reference process answered %q: %v", out.String(), err)
	}
	if res.Failed > 0 {
		b.Fatalf("reference loop had %d failures", res.Failed)
	}
	return res.Rate
}

// runReference is the reference process: benchWorkers goroutines doing
// 32-byte echo exchanges from the namespace the process started in, with
// no namespace switching. Unpooled it dials per exchange; pooled it keeps
// one connection each. It returns the exit code.
func runReference(spec string) int {
	var job referenceJob
	if err := json.Unmarshal([]byte(spec), &job); err != nil {
		fmt.Fprintln(os.Stderr, "reference:", err)
		return 2
	}
	d := net.Dialer{
		LocalAddr: &net.TCPAddr{IP: job.Source.AsSlice()},
		Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) {
				_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
			})
		},
	}
	exchange := func(c net.Conn, buf []byte) error {
		if _, err := c.Write(buf); err != nil {
			return err
		}
		_, err := io.ReadFull(c, buf)
		return err
	}
	var n, failed atomic.Int64
	start := time.Now()
	deadline := start.Add(job.Window)
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
					if c, err = d.Dial("tcp", job.Target); err != nil {
						failed.Add(1)
						continue
					}
				}
				err = exchange(c, buf)
				if !job.Pooled || err != nil {
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
	job.Rate = float64(n.Load()) / time.Since(start).Seconds()
	job.Failed = failed.Load()
	if err := json.NewEncoder(os.Stdout).Encode(job); err != nil {
		return 1
	}
	return 0
}
