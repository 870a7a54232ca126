package livemetrics

import (
	"maps"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/natlab/natlab/chaos"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/scenario/runner"
	"github.com/natlab/natlab/testbed/natcfg"
	"github.com/natlab/natlab/testbed/sampler"
)

// latencyBounds are the upper bounds of the latency histograms' buckets.
var latencyBounds = []time.Duration{
	500 * time.Microsecond, time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
	250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2500 * time.Millisecond,
	5 * time.Second, 10 * time.Second, 30 * time.Second,
}

// base are the labels of every metric.
var base = []string{"run_id", "scenario"}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, append(append([]string(nil), base...), labels...), nil)
}

// The metrics. Counters count since the run began; gauges are the latest
// tick's.
var (
	descPhase       = desc("natlab_run_phase", "1 for the phase the run is in.", "phase")
	descAttempts    = desc("natlab_client_attempts_total", "Client attempts started.")
	descOutcomes    = desc("natlab_client_outcomes_total", "Client attempts ended, by outcome class.", "outcome")
	descNewConns    = desc("natlab_client_new_connections_total", "Connections the clients opened.")
	descNewConnRate = desc("natlab_client_new_connections_per_second", "Connections opened per second over the latest tick.")
	descOKRate      = desc("natlab_client_ok_per_second", "Attempts that ended ok per second over the latest tick.")
	descErrRate     = desc("natlab_client_errors_per_second", "Attempts that ended not ok per second over the latest tick.")
	descOpenConns   = desc("natlab_client_open_connections", "Connections (UDP sockets) the clients hold open.")
	descInFlight    = desc("natlab_client_in_flight", "Attempts started and not yet ended.")
	descConnect     = desc("natlab_client_connect_duration_seconds", "Successful TCP handshakes (UDP socket set-ups).")
	descRequest     = desc("natlab_client_request_duration_seconds", "Attempts that ended ok, from their intended start.")
	descFailed      = desc("natlab_client_failed_attempt_duration_seconds", "How long the attempts that failed took to fail.")
	descNATUp       = desc("natlab_nat_reading_ok", "1 when the latest reading of the NAT box succeeded.", "nat")
	descConntrack   = desc("natlab_nat_conntrack_entries", "Conntrack entries in the NAT box.", "nat")
	descIPUtil      = desc("natlab_nat_port_utilization", "Share of a NAT IP's ports in use towards its busiest destination (0..1).", "nat", "nat_ip")
	descPoolUtil    = desc("natlab_nat_pool_port_utilization", "Share of a NAT pool's ports in use towards its busiest destination (0..1).", "nat", "pool")
	descPortsInUse  = desc("natlab_nat_ports_in_use", "NAT IP and port pairs mapped towards each destination, held ones included.", "nat")
	descAllocFail   = desc("natlab_nat_allocation_failures_total", "New flows the NAT box could not give a port (flows conntrack dropped, each once, + natlab's drop rules).", "nat")
	descIPForward   = desc("natlab_nat_ip_forward", "net.ipv4.ip_forward of the NAT box (1 on, 0 off).", "nat")
	descFault       = desc("natlab_fault_active", "1 while the fault is injected and not yet reverted.", "fault", "kind", "host")
)

// An AWS NAT gateway's metrics under their CloudWatch names (profile
// aws-nat-gateway): counts since the run began, and the open TCP
// connections now.
var (
	descAWSCounts = map[string]*prometheus.Desc{}
	descAWSActive = desc("natlab_nat_aws_ActiveConnectionCount", "AWS NAT gateway: TCP connections open through it now.", "nat")
	awsCountHelp  = map[string]string{
		"ErrorPortAllocation":        "AWS NAT gateway: connections it could not give a source port (over the cap per NAT IP and destination, or out of ports).",
		"PacketsDropCount":           "AWS NAT gateway: packets it dropped.",
		"ConnectionAttemptCount":     "AWS NAT gateway: TCP connection attempts through it.",
		"ConnectionEstablishedCount": "AWS NAT gateway: TCP connections the destination answered.",
		"IdleTimeoutCount":           "AWS NAT gateway: connections it reset after idle_timeout_sec without traffic.",
	}
)

// A Cloud NAT's metrics under their Cloud Monitoring names (profile
// gcp-cloud-nat): per VM (client address) its ports now, the counts
// since the run began (drops by reason), the open connections now.
var (
	descGCPAllocated = desc("natlab_nat_gcp_allocated_ports", "Cloud NAT: ports allocated to the VM now (allocated_ports).", "nat", "vm")
	descGCPUsage     = desc("natlab_nat_gcp_port_usage", "Cloud NAT: the VM's most ports in use towards one destination ip:port:protocol now (port_usage).", "nat", "vm")
	descGCPFailed    = desc("natlab_nat_gcp_nat_allocation_failed", "Cloud NAT: 1 when some VM needs more ports than it can be given (nat_allocation_failed).", "nat")
	descGCPDropped   = desc("natlab_nat_gcp_dropped_sent_packets_count_total", "Cloud NAT: packets from VMs it dropped, by reason (dropped_sent_packets_count).", "nat", "reason")
	descGCPNewConns  = desc("natlab_nat_gcp_new_connections_count_total", "Cloud NAT: connections it created (new_connections_count).", "nat")
	descGCPOpen      = desc("natlab_nat_gcp_open_connections", "Cloud NAT: connections open through it now (open_connections).", "nat")
)

func init() {
	allDescs = append(allDescs, descGCPAllocated, descGCPUsage, descGCPFailed, descGCPDropped, descGCPNewConns, descGCPOpen)
	for _, name := range awsCountNames {
		d := desc("natlab_nat_aws_"+name+"_total", awsCountHelp[name], "nat")
		descAWSCounts[name] = d
		allDescs = append(allDescs, d)
	}
	allDescs = append(allDescs, descAWSActive)
}

// awsCountNames are the CloudWatch counts, in the order they are served.
var awsCountNames = []string{"ErrorPortAllocation", "PacketsDropCount", "ConnectionAttemptCount", "ConnectionEstablishedCount", "IdleTimeoutCount"}

func awsCount(a *sampler.AWSSample, name string) uint64 {
	switch name {
	case "ErrorPortAllocation":
		return a.ErrorPortAllocation
	case "PacketsDropCount":
		return a.PacketsDropCount
	case "ConnectionAttemptCount":
		return a.ConnectionAttemptCount
	case "ConnectionEstablishedCount":
		return a.ConnectionEstablishedCount
	}
	return a.IdleTimeoutCount
}

var allDescs = []*prometheus.Desc{descPhase, descAttempts, descOutcomes, descNewConns, descNewConnRate, descOKRate,
	descErrRate, descOpenConns, descInFlight, descConnect, descRequest, descFailed, descNATUp, descConntrack,
	descIPUtil, descPoolUtil, descPortsInUse, descAllocFail, descIPForward, descFault}

// runState is what the endpoint knows of the run: a runner.Watcher that
// keeps the latest figures and a prometheus.Collector that serves them.
type runState struct {
	mu     sync.Mutex
	begun  bool
	info   runner.RunInfo
	counts loadgen.Counts
	hists  loadgen.TickHistograms
	tick   runner.ClientTick
	ticked bool
	nats   map[string]sampler.NATSample
	active map[string]bool
}

var (
	_ runner.Watcher       = (*runState)(nil)
	_ prometheus.Collector = (*runState)(nil)
)

func newRunState() *runState {
	return &runState{
		counts: loadgen.Counts{Outcomes: map[loadgen.Outcome]uint64{}},
		hists:  loadgen.TickHistograms{Connect: loadgen.NewHistogram(), Request: loadgen.NewHistogram(), Failed: loadgen.NewHistogram()},
		nats:   map[string]sampler.NATSample{}, active: map[string]bool{},
	}
}

// Begin implements runner.Watcher.
func (s *runState) Begin(info runner.RunInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.begun, s.info = true, info
}

// Sample implements runner.Watcher.
func (s *runState) Sample(smp loadgen.Sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.Attempts += smp.Attempts
	for o, n := range smp.Outcomes {
		s.counts.Outcomes[o] += n
	}
	s.counts.NewConns += smp.NewConns
	if h := smp.Histograms; h != nil {
		// One geometry: merges cannot drop values.
		_ = s.hists.Connect.Merge(h.Connect)
		_ = s.hists.Request.Merge(h.Request)
		_ = s.hists.Failed.Merge(h.Failed)
	}
}

// Tick implements runner.Watcher.
func (s *runState) Tick(c runner.ClientTick, n sampler.Sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tick, s.ticked = c, true
	for _, rd := range n.NATs {
		s.nats[rd.Host] = rd
	}
}

// Marker implements runner.Watcher: a fault is active from a successful
// inject until a successful revert.
func (s *runState) Marker(m chaos.Marker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case m.Event == chaos.EventInject && m.Err == "":
		s.active[m.Fault] = true
	case m.Event == chaos.EventRevert && m.Err == "":
		s.active[m.Fault] = false
	}
}

// Describe implements prometheus.Collector.
func (s *runState) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (s *runState) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.begun {
		return
	}
	lv := []string{s.info.RunID, s.info.Scenario}
	l := func(extra ...string) []string { return append(append([]string(nil), lv...), extra...) }
	gauge := func(d *prometheus.Desc, v float64, extra ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l(extra...)...)
	}
	counter := func(d *prometheus.Desc, v float64, extra ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, l(extra...)...)
	}

	counter(descAttempts, float64(s.counts.Attempts))
	for _, o := range loadgen.AllOutcomes() {
		counter(descOutcomes, float64(s.counts.Outcomes[o]), o.String())
	}
	counter(descNewConns, float64(s.counts.NewConns))
	for _, h := range []struct {
		d *prometheus.Desc
		h *loadgen.Histogram
	}{{descConnect, s.hists.Connect}, {descRequest, s.hists.Request}, {descFailed, s.hists.Failed}} {
		ch <- constHistogram(h.d, h.h, l())
	}
	if s.ticked {
		t := s.tick
		if t.Phase != "" {
			gauge(descPhase, 1, t.Phase)
		}
		per := t.Interval.Seconds()
		if per <= 0 {
			per = 1
		}
		gauge(descNewConnRate, float64(t.NewConns)/per)
		gauge(descOKRate, float64(t.OK())/per)
		gauge(descErrRate, float64(t.Errors())/per)
		gauge(descOpenConns, float64(t.OpenConns))
		gauge(descInFlight, float64(t.InFlight))
	}

	for _, name := range s.info.NATs {
		rd, ok := s.nats[name]
		if !ok {
			continue
		}
		if rd.Err != "" {
			gauge(descNATUp, 0, name)
			continue
		}
		gauge(descNATUp, 1, name)
		gauge(descConntrack, float64(rd.ConntrackEntries), name)
		for _, ip := range sortedKeys(rd.IPUtilization) {
			gauge(descIPUtil, rd.IPUtilization[ip], name, ip)
		}
		for _, pool := range sortedKeys(rd.PoolUtilization) {
			gauge(descPoolUtil, rd.PoolUtilization[pool], name, pool)
		}
		gauge(descPortsInUse, float64(rd.PortsInUse), name)
		counter(descAllocFail, float64(rd.AllocationFailures), name)
		fwd := 0.0
		if rd.IPForward {
			fwd = 1
		}
		gauge(descIPForward, fwd, name)
		if a := rd.AWS; a != nil {
			for _, m := range awsCountNames {
				counter(descAWSCounts[m], float64(awsCount(a, m)), name)
			}
			gauge(descAWSActive, float64(a.ActiveConnectionCount), name)
		}
		if g := rd.GCP; g != nil {
			collectGCP(g, name, gauge, counter)
		}
	}
	for _, f := range s.info.Faults {
		v := 0.0
		if s.active[f.Name] {
			v = 1
		}
		gauge(descFault, v, f.Name, f.Kind, f.Host)
	}
}

// collectGCP serves one Cloud NAT's reading.
func collectGCP(g *sampler.GCPSample, nat string, gauge, counter func(*prometheus.Desc, float64, ...string)) {
	for _, vm := range sortedKeys(g.AllocatedPorts) {
		gauge(descGCPAllocated, float64(g.AllocatedPorts[vm]), nat, vm)
	}
	for _, vm := range sortedKeys(g.PortUsage) {
		gauge(descGCPUsage, float64(g.PortUsage[vm]), nat, vm)
	}
	failed := 0.0
	if g.AllocationFailed {
		failed = 1
	}
	gauge(descGCPFailed, failed, nat)
	for _, reason := range natcfg.DropReasons {
		counter(descGCPDropped, float64(g.DroppedSent[reason]), nat, reason)
	}
	counter(descGCPNewConns, float64(g.NewConnections), nat)
	gauge(descGCPOpen, float64(g.OpenConnections), nat)
}

// constHistogram turns an HDR histogram into a Prometheus one with
// latencyBounds as its buckets.
func constHistogram(d *prometheus.Desc, h *loadgen.Histogram, labels []string) prometheus.Metric {
	counts := h.CumulativeCounts(latencyBounds)
	buckets := make(map[float64]uint64, len(latencyBounds))
	for i, b := range latencyBounds {
		buckets[b.Seconds()] = counts[i]
	}
	n := h.Count()
	return prometheus.MustNewConstHistogram(d, n, h.Mean().Seconds()*float64(n), buckets, labels...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range maps.Keys(m) {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

// Names lists the name of every metric the endpoint serves (for docs and
// their tests).
func Names() []string {
	out := make([]string, 0, len(allDescs))
	for _, d := range allDescs {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}
