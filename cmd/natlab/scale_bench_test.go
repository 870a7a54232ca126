package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/natlab/natlab/reports"
)

// scaleSteps are the sizes BenchmarkScale runs: incident 001's shape (500
// client addresses, unpooled connections held to one tcp-echo backend,
// ramped in at 8,000/s) at 1,000 and 10,000 connections through one NAT
// IP, then the full-scale fixtures themselves (66,000 held through one
// NAT IP, 100,000 through two).
var scaleSteps = []struct {
	name, scenario string
}{
	{"1k", scaleScenario(1000)},
	{"10k", scaleScenario(10000)},
	{"65k", "nat-port-exhaustion-full"},
	{"100k", "nat-port-exhaustion-full-2ips"},
}

// scaleScenario is a scenario that holds conns connections through one
// NAT IP with the full port range, every one of them mapped: like the
// full-scale fixture, an 8 s connect timeout (four SYNs) and a phase with
// room for the ramp and the last timeouts.
func scaleScenario(conns int) string {
	return fmt.Sprintf(`name: scale-%d
tick: 1s
testbed:
  nat: {ips: 1, ports: 1024-65535}
  clients: {hosts: 1, addresses: 500}
  backends:
    - {name: api, protocol: tcp-echo, port: 8080}
phases:
  - name: peak
    duration: %s
    load: {hold: {conns: %d, ramp: 8000/s}, connect_timeout: 8s}
assert:
  - phase: peak
    expect: ok == %d
  - phase: peak
    expect: lost == 0
`, conns, time.Duration(conns/8000+17)*time.Second, conns, conns)
}

// BenchmarkScale measures what a run costs as it grows: for each step,
// the wall time of `natlab run` from start to report, the peak of the
// summed RSS of every natlab process (the runner, here the test process,
// and every agent it started, read from /proc every 100 ms), and the
// late ticks and missing NAT readings the report counts. Each step must
// pass its own assertions. Run it without -race, once:
//
//	go test -run '^$' -bench BenchmarkScale -benchtime 1x -timeout 40m ./cmd/natlab
func BenchmarkScale(b *testing.B) {
	requireRoot(b)
	for _, st := range scaleSteps {
		b.Run(st.name, func(b *testing.B) {
			arg := st.scenario
			if strings.Contains(arg, "\n") {
				arg = filepath.Join(b.TempDir(), "scale.yaml")
				if err := os.WriteFile(arg, []byte(st.scenario), 0o644); err != nil {
					b.Fatal(err)
				}
			}
			var wall, rss float64
			var late, missing int
			for range b.N {
				dir := b.TempDir()
				stop := watchRSS()
				start := time.Now()
				code, stdout, stderr := run(b, "run", arg, "--out", dir)
				took := time.Since(start)
				peak := stop()
				rep, err := reports.Read(filepath.Join(dir, "report.json"))
				if err != nil {
					b.Fatalf("natlab run %s exited %d and wrote no report: %v\n%s%s", arg, code, err, stdout, stderr)
				}
				if code != ExitPass {
					// The figures are still reported: what a run that
					// missed its counts cost is part of the picture.
					b.Errorf("natlab run %s exited %d: %d ok of %d attempts, outcomes %v", arg, code, rep.Totals.OK, rep.Totals.Attempts, rep.Totals.Outcomes)
				}
				wall, rss = wall+took.Seconds(), max(rss, float64(peak)/(1<<20))
				if rep.Sampling != nil {
					late, missing = late+rep.Sampling.LateTicks, missing+rep.Sampling.MissingNATReadings
				}
			}
			// Logged too: a failed benchmark's metrics are not printed.
			b.Logf("%s: wall %.1f s, peak summed RSS %.0f MiB, %d late ticks, %d missing NAT readings",
				st.name, wall/float64(b.N), rss, late/b.N, missing/b.N)
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(wall/float64(b.N), "wall-s")
			b.ReportMetric(rss, "peak-rss-MiB")
			b.ReportMetric(float64(late)/float64(b.N), "late-ticks")
			b.ReportMetric(float64(missing)/float64(b.N), "missing-NAT-readings")
		})
	}
}

// watchRSS sums the VmRSS of every process running this binary (the test
// process and the agents it starts) every 100 ms until the returned stop
// is called, which gives the highest sum seen, in bytes.
func watchRSS() (stop func() int64) {
	self, _ := os.Executable()
	done := make(chan struct{})
	var wg sync.WaitGroup
	var peak int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, summedRSS(self))
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// summedRSS is the sum of VmRSS over the processes whose executable is exe.
func summedRSS(exe string) int64 {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var sum int64
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if p, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err != nil || p != exe {
			continue
		}
		f, err := os.Open(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				sum += kb << 10
				break
			}
		}
		f.Close()
	}
	return sum
}
