package reports

import (
	"time"

	"github.com/natlab/natlab/loadgen"
)

// SchemaVersion names the report.json schema. Fields may be added within a
// version; renaming or removing one needs a new version.
const SchemaVersion = "natlab.report/v1"

// Verdict is the result of a run.
type Verdict string

// The verdicts. A run is incomplete when it was interrupted (Ctrl-C, a
// testbed error) before every assertion could be judged.
const (
	VerdictPass       Verdict = "pass"
	VerdictFail       Verdict = "fail"
	VerdictIncomplete Verdict = "incomplete"
)

// Report is everything a natlab run produced. The JSON field order is the
// struct order and is part of the schema.
type Report struct {
	// Schema is SchemaVersion; Write sets it, Read checks it.
	Schema   string   `json:"schema"`
	Scenario Scenario `json:"scenario"`
	Testbed  Testbed  `json:"testbed"`
	// NATConfig is the NAT config candidate the run gated (natlab run
	// --nat-config); absent without one.
	NATConfig *NATConfig `json:"nat_config,omitempty"`
	Verdict   Verdict    `json:"verdict"`
	// Incomplete says why the run stopped early (empty unless incomplete).
	Incomplete string      `json:"incomplete,omitempty"`
	Started    time.Time   `json:"started"`
	Duration   Seconds     `json:"duration_s"`
	Assertions []Assertion `json:"assertions"`
	// Totals are the client-side counts of the whole run.
	Totals  Totals       `json:"totals"`
	Latency Latency      `json:"latency"`
	NAT     []NATSummary `json:"nat"`
	Phases  []Phase      `json:"phases"`
	Faults  []Fault      `json:"faults"`
	Alarms  []Alarm      `json:"alarms"`
	// Apps are the app tiers (absent when the scenario has none).
	Apps []App `json:"apps,omitempty"`
	// Candidates are the candidate sysctl files of a gated run, per NAT
	// box (absent without --nat-sysctls).
	Candidates []Candidate `json:"candidates,omitempty"`
	// Samples is the time series, one row per tick (also in samples.csv).
	Samples []Sample `json:"samples"`
	// Sampling says how well the sampler kept its tick (absent in
	// reports written before it was recorded).
	Sampling *Sampling `json:"sampling,omitempty"`
}

// Sampling is how the per-tick readings landed.
type Sampling struct {
	Tick Seconds `json:"tick_s"`
	// LateTicks counts readings that started more than 20% of the tick
	// after they were due; MaxLate is the latest start.
	LateTicks int     `json:"late_ticks"`
	MaxLate   Seconds `json:"max_late_s"`
	// MissingNATReadings counts NAT readings that failed or timed out
	// (left out of the samples, never recorded as 0).
	MissingNATReadings int `json:"missing_nat_readings"`
}

// Scenario identifies the scenario that was played.
type Scenario struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// File is the scenario file's path, or "builtin:NAME" for an embedded one.
	File string `json:"file,omitempty"`
}

// Testbed describes where the scenario ran.
type Testbed struct {
	// Backend is "netns" or "docker".
	Backend string `json:"backend"`
	// Kernel is the kernel release (uname -r) of the machine.
	Kernel string `json:"kernel"`
	// RunID names every resource the run created.
	RunID string   `json:"run_id"`
	NATs  []NATBox `json:"nats"`
}

// NATBox is the configuration of one NAT box.
type NATBox struct {
	Name string `json:"name"`
	// IPs are the NAT ("public") addresses.
	IPs []string `json:"ips"`
	// Ports is the port range per NAT IP, e.g. "1024-1279".
	Ports string `json:"ports"`
	// Mode is "plain" (Linux behaviour) or "managed" (ports held after close).
	Mode string `json:"mode"`
	// Hold is how long a managed NAT keeps a port after close (0 when plain).
	Hold Seconds `json:"hold_s"`
}

// NATConfig is a candidate NAT config and what it changed.
type NATConfig struct {
	// File is the candidate's path.
	File string `json:"file"`
	// Form is "yaml", "terraform" or "plan".
	Form string `json:"form"`
	// Resource is the Terraform address read (empty for yaml).
	Resource string `json:"resource,omitempty"`
	// Changes are the settings that differ from the scenario's.
	Changes []NATSettingChange `json:"changes"`
	// Ignored are the attributes the candidate holds that natlab does not
	// model, each with where and why.
	Ignored []string `json:"ignored"`
}

// NATSettingChange is one setting of one NAT box the candidate changed.
type NATSettingChange struct {
	NAT     string `json:"nat"`
	Setting string `json:"setting"`
	Before  string `json:"before"`
	After   string `json:"after"`
}

// Assertion is one judged expectation of the scenario.
type Assertion struct {
	// Name is what was asserted, e.g. "peak: nat.allocation_failures > 0".
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	// Observed and Expected are human-readable, with units ("2.3%", "< 0.1%").
	Observed string `json:"observed"`
	Expected string `json:"expected"`
	// Source is the assertion's place in the scenario file ("file.yaml:12").
	Source string `json:"source,omitempty"`
}

// Latency holds the latency summaries of the whole run and of each phase.
type Latency struct {
	Total  Timings        `json:"total"`
	Phases []PhaseTimings `json:"phases"`
}

// Timings are the latency summaries of a span of the run: connect (each
// successful handshake), request (ok attempts) and failed (how long the
// attempts that failed took to fail; see loadgen's package doc).
type Timings struct {
	Connect Quantiles `json:"connect"`
	Request Quantiles `json:"request"`
	Failed  Quantiles `json:"failed"`
}

// PhaseTimings are the Timings of one phase.
type PhaseTimings struct {
	Phase string `json:"phase"`
	Timings
}

// Quantiles summarise one latency distribution.
type Quantiles struct {
	Count uint64  `json:"count"`
	P50   Seconds `json:"p50_s"`
	P90   Seconds `json:"p90_s"`
	P99   Seconds `json:"p99_s"`
	Max   Seconds `json:"max_s"`
}

// NATSummary is what one NAT box saw over the run.
type NATSummary struct {
	Name string `json:"name"`
	// AllocationFailures is the rise of new flows the NAT could not map (conntrack drops, each once, and natlab's drop rules).
	AllocationFailures uint64 `json:"allocation_failures"`
	// PeakPortUtilization is the highest port utilization of any NAT IP
	// towards any destination (0..1).
	PeakPortUtilization float64 `json:"peak_port_utilization"`
	// PeakConntrack is the highest number of conntrack entries.
	PeakConntrack uint64 `json:"peak_conntrack"`
	// PeakPortsInUse is the highest number of NAT ports in use at once:
	// NAT IP and port pairs mapped towards each destination, held ones
	// included (what the utilization is a share of).
	PeakPortsInUse uint64 `json:"peak_ports_in_use"`
	// IPForwardOff is how long net.ipv4.ip_forward was 0.
	IPForwardOff Seconds `json:"ip_forward_off_s"`
	// AWS is an AWS NAT gateway's CloudWatch metrics over the run (the
	// counts' Sum, ActiveConnectionCount's Max); absent for other profiles.
	AWS *AWSMetrics `json:"aws,omitempty"`
	// GCP is a Cloud NAT's metrics over the run (profile gcp-cloud-nat),
	// with each VM's peak allocation and usage; absent for other
	// profiles.
	GCP *GCPMetrics `json:"gcp,omitempty"`
}

// GCPMetrics are a Cloud NAT's metrics under their Cloud Monitoring
// names (router.googleapis.com/nat/): over a run, the gauges' highest
// sampled value, whether nat_allocation_failed was ever true and the
// counts' rise; over one tick, the gauges at its end and the counts'
// rise in it.
type GCPMetrics struct {
	// AllocatedPorts and PortUsage are those of the VM with the most.
	AllocatedPorts   int  `json:"allocated_ports"`
	PortUsage        int  `json:"port_usage"`
	AllocationFailed bool `json:"nat_allocation_failed"`
	// DroppedSent is dropped_sent_packets_count by reason, every reason
	// natlab counts present (zeros included).
	DroppedSent     map[string]uint64 `json:"dropped_sent_packets_count"`
	NewConnections  uint64            `json:"new_connections_count"`
	OpenConnections int               `json:"open_connections"`
	// VMs are each VM's highest sampled allocated_ports and port_usage,
	// by address (over a run only).
	VMs []GCPVM `json:"vms,omitempty"`
}

// GCPVM is one VM (client address) behind a Cloud NAT over a run.
type GCPVM struct {
	VM             string `json:"vm"`
	AllocatedPorts int    `json:"allocated_ports"`
	PortUsage      int    `json:"port_usage"`
}

// AWSMetrics are an AWS NAT gateway's metrics under their CloudWatch
// names (namespace AWS/NATGateway): over a run or over one tick.
type AWSMetrics struct {
	ErrorPortAllocation        uint64 `json:"ErrorPortAllocation"`
	PacketsDropCount           uint64 `json:"PacketsDropCount"`
	ActiveConnectionCount      int    `json:"ActiveConnectionCount"`
	ConnectionAttemptCount     uint64 `json:"ConnectionAttemptCount"`
	ConnectionEstablishedCount uint64 `json:"ConnectionEstablishedCount"`
	IdleTimeoutCount           uint64 `json:"IdleTimeoutCount"`
}

// Phase is one phase of the schedule as it ran.
type Phase struct {
	Name   string    `json:"name"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Counts Totals    `json:"counts"`
}

// Fault is one fault of the scenario's timeline.
type Fault struct {
	// Name is the fault's name in the scenario ("faults[0]" when unnamed).
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	Host        string `json:"host"`
	Description string `json:"description,omitempty"`
	// InjectedAt is nil when the fault was never injected (see Error).
	InjectedAt *time.Time `json:"injected_at"`
	// RevertedAt is nil while the fault was never reverted (the run ended
	// first, or the revert failed).
	RevertedAt *time.Time `json:"reverted_at"`
	// Error says why injecting or reverting failed.
	Error string `json:"error,omitempty"`
	// VerifyError says how the state after the revert differs from the
	// state recorded before the inject.
	VerifyError string `json:"verify_error,omitempty"`
	// Effects are a NAT config change's effects on live connections
	// (kind nat-config); absent for other kinds.
	Effects *ConnectionEffects `json:"effects,omitempty"`
}

// ConnectionEffects are what a live NAT config change did to the live
// connections: the NAT agent's prediction from conntrack before the
// change, and what the kernel counted after it.
type ConnectionEffects struct {
	// PredictedResets are the TCP connections that lose their NAT port
	// while their NAT IP stays: each is reset on its next packet.
	PredictedResets int `json:"predicted_resets"`
	// PredictedDropped are the connections on a NAT IP the change
	// removed: their return traffic is dropped.
	PredictedDropped int `json:"predicted_dropped"`
	// ObservedResets and ObservedDropped count, each connection once,
	// the resets the NAT sent and the connections whose return traffic
	// it dropped, up to the revert (or the end of the run); nil when the
	// fault was never reverted.
	ObservedResets  *int `json:"observed_resets"`
	ObservedDropped *int `json:"observed_dropped"`
	// Before is the NAT's last reading before the change: the pre-change
	// check of utilization; nil when no reading came before it.
	Before *PreChange `json:"before,omitempty"`
}

// PreChange is a NAT box's reading just before a live config change.
type PreChange struct {
	// T is when the reading was taken, seconds since the start of the run.
	T float64 `json:"t_s"`
	// PortUtilization is the NAT's port utilization then (0..1).
	PortUtilization float64 `json:"port_utilization"`
	// PortUsage and AllocatedPorts are a Cloud NAT's, of the VM with the
	// most; absent for other profiles.
	PortUsage      *int `json:"port_usage,omitempty"`
	AllocatedPorts *int `json:"allocated_ports,omitempty"`
}

// Alarm is one alarm the scenario watched.
type Alarm struct {
	Name   string `json:"name"`
	Metric string `json:"metric"`
	// Threshold is the condition as written, e.g. "> 0.9 for 2s".
	Threshold string `json:"threshold"`
	// FirstFired is nil when the alarm never fired.
	FirstFired *time.Time `json:"first_fired"`
}

// Sample is one tick of the time series. Rates are per second over the tick;
// gauges are read at the tick's end.
type Sample struct {
	// T is the end of the tick in seconds since the start of the run.
	T     float64 `json:"t_s"`
	Phase string  `json:"phase"`
	// AttemptsPerSec counts attempts started; OKPerSec and ErrorsPerSec
	// attempts that ended.
	AttemptsPerSec float64 `json:"attempts_per_s"`
	OKPerSec       float64 `json:"ok_per_s"`
	ErrorsPerSec   float64 `json:"errors_per_s"`
	// Outcomes is the rate of every outcome that occurred in the tick.
	Outcomes       map[loadgen.Outcome]float64 `json:"outcomes_per_s"`
	OpenConns      int64                       `json:"open_conns"`
	NewConnsPerSec float64                     `json:"new_conns_per_s"`
	ConnectP99     Seconds                     `json:"connect_p99_s"`
	RequestP99     Seconds                     `json:"request_p99_s"`
	// FailedP99 is the p99 of how long the attempts that failed in the
	// tick took (0 when none failed).
	FailedP99 Seconds `json:"failed_p99_s"`
	// NAT holds one reading per NAT box, by name.
	NAT map[string]NATSample `json:"nat"`
}

// NATSample is one reading of a NAT box.
type NATSample struct {
	Conntrack uint64 `json:"conntrack"`
	// AllocationFailures is the rise of new flows the NAT could not map over the tick.
	AllocationFailures uint64 `json:"allocation_failures"`
	// PortUtilization is the max over NAT IPs (and destinations), 0..1.
	PortUtilization float64 `json:"port_utilization"`
	// PortsInUse is the number of NAT ports in use (see
	// NATSummary.PeakPortsInUse).
	PortsInUse uint64 `json:"ports_in_use"`
	IPForward  bool   `json:"ip_forward"`
	// AWS is an AWS NAT gateway's reading: the counts' rise over the
	// tick, ActiveConnectionCount at its end; absent for other profiles.
	AWS *AWSMetrics `json:"aws,omitempty"`
	// GCP is a Cloud NAT's reading (GCPMetrics, without VMs); absent for
	// other profiles.
	GCP *GCPMetrics `json:"gcp,omitempty"`
}

// MarkerKind is what a Marker marks.
type MarkerKind string

// The marker kinds.
const (
	MarkerPhase         MarkerKind = "phase"
	MarkerFaultInjected MarkerKind = "fault_injected"
	MarkerFaultReverted MarkerKind = "fault_reverted"
	MarkerAlarm         MarkerKind = "alarm"
)

// Marker is an event on the run's timeline: a phase start, a fault inject
// or revert, an alarm firing.
type Marker struct {
	// T is the event time in seconds since the start of the run.
	T    float64    `json:"t_s"`
	Kind MarkerKind `json:"kind"`
	Name string     `json:"name"`
}
