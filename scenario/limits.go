package scenario

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
)

// MaxConnsPerAgent is the most connections the runner puts in one client
// agent process: well under the open-file limit of these machines
// (20,000); larger loads are split over more agent processes.
const MaxConnsPerAgent = 15000

// What one held connection and one agent process cost, and how fast a
// CPU generates attempts. Measured on the CI machines (2 CPUs, 24 GiB,
// Linux 6.18) and rounded up generously, since a bound that refuses a
// scenario that would have run is worse than one that lets a marginal
// one through.
const (
	// bytesPerConn: 15,000 idle connections held over loopback cost
	// ~24 KiB each (12 KiB of client and backend RSS: goroutines and
	// buffers; ~7.5 KiB of kernel socket slabs for the two ends); 64 KiB
	// leaves room for socket buffers in use and the NAT's conntrack entry.
	bytesPerConn = 64 << 10
	// bytesPerAgent: an agent process at rest.
	bytesPerAgent = 32 << 20
	// filesPerAgent: what an agent keeps open besides connections
	// (listeners, its wire, netlink sockets, logs).
	filesPerAgent = 500
	// attemptsPerCPU: about 8x the best natlab measured (pooled requests
	// on loopback, 115k/s on 2 CPUs: docs/benchmarks.md). A higher rate
	// only turns into dropped_by_client outcomes.
	attemptsPerCPU = 500_000
)

// Machine is what the machine running natlab can hold: the bounds a
// scenario's magnitudes are checked against, named in the messages. A
// zero field skips its bounds.
type Machine struct {
	// MemAvailable is the memory available for new work, in bytes
	// (MemAvailable in /proc/meminfo).
	MemAvailable uint64
	// OpenFiles is the hard open-file limit (RLIMIT_NOFILE) of a process:
	// every agent raises its soft limit to it.
	OpenFiles uint64
	// CPUs is the number of CPUs the hosts of a testbed share.
	CPUs int
}

// ReadMachine reads this machine's facts; what it cannot read stays zero.
func ReadMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU()}
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemAvailable = memAvailable(raw)
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		m.OpenFiles = lim.Max
	}
	return m
}

// memAvailable reads MemAvailable from /proc/meminfo text, in bytes.
func memAvailable(meminfo []byte) uint64 {
	sc := bufio.NewScanner(bytes.NewReader(meminfo))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemAvailable:" {
			kb, err := strconv.ParseUint(f[1], 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// loadAt is a parsed load with the mapping it was written in.
type loadAt struct {
	spec LoadSpec
	m    *mapping
}

// heldConns is how many connections a load keeps open at once on one
// client host, when the load says so, and the key that says it: hold
// and concurrency, or the pool size of a pooled load. An unpooled open
// schedule keeps as many as the answers' latency makes: not known here.
// A pool per source address holds its size from each of the host's
// sources addresses.
func heldConns(l LoadSpec, sources int) (int, string) {
	s, st := l.Schedule, l.Strategy
	pooled := st.Pool == loadgen.PoolKeepAlive || st.Kind == loadgen.KindH2C
	pool := max(st.PoolSize, 1)
	if pooled && st.PoolPer == loadgen.PoolPerSource {
		pool *= max(sources, 1)
	}
	switch s.Kind {
	case loadgen.ScheduleHold:
		return s.Hold, "hold" // a hold opens its own connections, pooled or not
	case loadgen.ScheduleClosed:
		if pooled && pool < s.Concurrency {
			return pool, "pool_size"
		}
		return s.Concurrency, "concurrency"
	}
	if pooled {
		inflight := l.MaxInFlight
		if inflight == 0 {
			inflight = loadgen.DefaultMaxInFlight
		}
		if inflight < pool {
			return inflight, "max_in_flight"
		}
		return pool, "pool_size"
	}
	return 0, ""
}

// maxAddresses is the most source addresses any of the client hosts
// named carries.
func maxAddresses(spec *testbed.Spec, hosts []string) int {
	n := 0
	for _, c := range spec.Clients {
		if slices.Contains(hosts, c.Name) {
			n = max(n, c.Addresses)
		}
	}
	return n
}

// peakRate is the highest arrival rate of a load's schedule, per second,
// and the key that sets it.
func peakRate(l LoadSpec) (float64, string) {
	s := l.Schedule
	switch s.Kind {
	case loadgen.ScheduleOpen:
		return s.Rate.PerSecond(), "rate"
	case loadgen.ScheduleRamp:
		return max(s.From.PerSecond(), s.To.PerSecond()), "ramp"
	case loadgen.ScheduleSpike:
		return max(s.Rate.PerSecond(), s.SpikeRate.PerSecond()), "spike"
	case loadgen.ScheduleHold:
		return s.HoldRamp.PerSecond(), "hold"
	}
	return 0, ""
}

// limits checks the loads of one phase, which run at once, against what
// the machine can hold: connections against memory and open files,
// arrival rates against its CPUs. Each problem is reported at the key of
// the load that goes past the bound, naming the bound.
//
// The runner splits a load of a client host over agent processes above
// MaxConnsPerAgent connections, and the loads of a phase on one host
// share those processes: the first one holds its share of every load.
// A backend runs as many server processes (SO_REUSEPORT listeners on the
// same ports) as the most connections a phase holds to it need: limits
// sets BackendSpec.Processes. Their memory is in bytesPerConn, which
// counts the backend's side of every connection.
func (p *parser) limits(ph Phase, loads []loadAt, spec *testbed.Spec) {
	mc := p.machine
	hostsOf := func(l LoadSpec) []string {
		if l.Client != "" {
			return []string{l.Client}
		}
		return clientNames(spec)
	}
	files := int64(mc.OpenFiles) - filesPerAgent // connections one agent may hold
	var conns int64
	var rate float64
	firstAgent := map[string]int64{} // connections in a host's first agent
	agents := map[string]int{}       // agent processes per host
	reported := map[string]bool{}
	toBackend := map[string]int64{}
	for _, la := range loads {
		l, on := la.spec, hostsOf(la.spec)
		hosts := int64(len(on))
		n, key := heldConns(l, maxAddresses(spec, on))
		if n > 0 {
			at := keyPosIn(la.m, key)
			split := (n + MaxConnsPerAgent - 1) / MaxConnsPerAgent
			conns += int64(n) * hosts
			for _, h := range on {
				firstAgent[h] += int64((n + split - 1) / split)
				agents[h] = max(agents[h], split)
				if mc.OpenFiles > 0 && firstAgent[h] > files && !reported["client "+h] {
					reported["client "+h] = true
					p.errs.add(at, "load.%s: phase %q would put %s connections in one agent process on client host %s (this load: %s; the runner splits a load over processes above %s connections, "+
						"and the loads of a phase on a host share them), but a process may open only %s files here (RLIMIT_NOFILE hard limit): want at most %s per agent process, or raise the hard limit (ulimit -Hn)",
						key, ph.Name, count(firstAgent[h]), h, count(int64(n)), count(MaxConnsPerAgent), count(int64(mc.OpenFiles)), count(files))
				}
			}
			toBackend[l.Target] += int64(n) * hosts
			if need := backendProcesses(toBackend[l.Target], files); need > testbed.MaxBackendProcesses && !reported["backend "+l.Target] {
				reported["backend "+l.Target] = true
				p.errs.add(at, "load.%s: phase %q would hold %s connections to backend %s at once (%s): that needs %d server processes of at most %s connections each, "+
					"more than the %d a backend runs: want at most %s connections to one backend, or spread them over more backends",
					key, ph.Name, count(toBackend[l.Target]), l.Target, perHosts(n, hosts), need, count(perBackendProcess(files)),
					testbed.MaxBackendProcesses, count(int64(testbed.MaxBackendProcesses)*perBackendProcess(files)))
			} else if need <= testbed.MaxBackendProcesses {
				setBackendProcesses(spec, l.Target, need)
			}
			procs := int64(0)
			for _, a := range agents {
				procs += int64(a)
			}

			need := conns*bytesPerConn + procs*bytesPerAgent
			if mc.MemAvailable > 0 && uint64(need) > mc.MemAvailable && !reported["memory"] {
				reported["memory"] = true
				room := (int64(mc.MemAvailable) - procs*bytesPerAgent) / bytesPerConn
				p.errs.add(at, "load.%s: phase %q would hold %s connections at once (%s) in %s client agent processes, about %s; "+
					"this machine has %s available (MemAvailable), room for about %s connections (%s per GiB at %d KiB each, measured conservatively: "+
					"client and backend sockets, goroutines and buffers, plus %d MiB per agent process)",
					key, ph.Name, count(conns), perHosts(n, hosts), count(procs), gib(need), gib(int64(mc.MemAvailable)), count(max(room, 0)),
					count((1<<30)/bytesPerConn), bytesPerConn>>10, bytesPerAgent>>20)
			}
		}
		if r, key := peakRate(l); r > 0 && mc.CPUs > 0 {
			rate += r * float64(hosts)
			if most := float64(mc.CPUs * attemptsPerCPU); rate > most && !reported["rate"] {
				reported["rate"] = true
				p.errs.add(keyPosIn(la.m, key), "load.%s: phase %q asks for %s attempts/s (%s), more than this machine's %d CPUs can generate: "+
					"want at most %s/s in a phase (%s per CPU, about 8x the best natlab measured, docs/benchmarks.md); a higher rate only ends in dropped_by_client",
					key, ph.Name, count(int64(rate)), ratePerHosts(r, hosts), mc.CPUs, count(int64(most)), count(attemptsPerCPU))
			}
		}
	}
}

// perBackendProcess is how many connections the runner puts in one
// server process of a backend: MaxConnsPerAgent, or fewer when the file
// limit (less what an agent keeps open besides) is lower.
func perBackendProcess(files int64) int64 {
	if files > 0 && files < MaxConnsPerAgent {
		return files
	}
	return MaxConnsPerAgent
}

// backendProcesses is how many server processes hold conns connections
// to one backend at once.
func backendProcesses(conns, files int64) int {
	per := perBackendProcess(files)
	return int(max((conns+per-1)/per, 1))
}

// setBackendProcesses makes backend name run at least n server
// processes: the most any phase needs.
func setBackendProcesses(spec *testbed.Spec, name string, n int) {
	for i := range spec.Backends {
		if spec.Backends[i].Name == name && n > spec.Backends[i].Processes && n > 1 {
			spec.Backends[i].Processes = n
		}
	}
}

// perHosts says what a load adds to a phase's figure: "this load: 300
// per client host x 2 hosts".
func perHosts(n int, hosts int64) string {
	if hosts == 1 {
		return "this load: " + count(int64(n)) + " on 1 client host"
	}
	return fmt.Sprintf("this load: %s per client host x %d hosts", count(int64(n)), hosts)
}

func ratePerHosts(r float64, hosts int64) string {
	if hosts == 1 {
		return "this load: " + count(int64(r)) + "/s on 1 client host"
	}
	return fmt.Sprintf("this load: %s/s per client host x %d hosts", count(int64(r)), hosts)
}

// count renders n with thousands separators: 1,000,000.
func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// gib renders bytes in GiB with one decimal.
func gib(b int64) string {
	return strconv.FormatFloat(float64(b)/(1<<30), 'f', 1, 64) + " GiB"
}
