package scenario

import (
	"time"

	"github.com/natlab/natlab/loadgen"
)

// Observed is what a run measured, filled in by the runner and judged by
// Evaluate.
type Observed struct {
	// Phases holds one window per phase, by phase name.
	Phases map[string]Window `json:"phases"`
	// Run is the whole run.
	Run Window `json:"run"`
	// Series has one point per tick, in time order.
	Series []Point `json:"series"`
	// FaultTimes says when each fault (by name) was injected and reverted.
	FaultTimes map[string]FaultTime `json:"fault_times"`
	// Alarms is the state of each alarm (by name) at the end of the run.
	Alarms map[string]AlarmState `json:"alarms"`
	// FirstFailure is when the first attempt failed (nil: none did).
	FirstFailure *time.Duration `json:"first_failure,omitempty"`
	// Effects are the effects on live connections of each nat-config
	// fault (by name) that was injected.
	Effects map[string]FaultEffects `json:"effects,omitempty"`
	// VMStarts says, for each vm-start fault (by name) that was injected,
	// how many of its VMs got a block and how many waited for one.
	VMStarts map[string]VMStart `json:"vm_starts,omitempty"`
}

// VMStart is what the gateway gave the VMs of a vm-start fault.
type VMStart struct {
	Allocated int `json:"allocated"`
	Waiting   int `json:"waiting"`
}

// FaultEffects are what a nat-config fault did to live connections:
// predicted by the NAT before the change, observed after it (nil until
// its revert read them).
type FaultEffects struct {
	PredictedResets  int  `json:"predicted_resets"`
	PredictedDropped int  `json:"predicted_dropped"`
	ObservedResets   *int `json:"observed_resets,omitempty"`
	ObservedDropped  *int `json:"observed_dropped,omitempty"`
}

// Window is what happened during a phase or the whole run.
type Window struct {
	// Duration is the length of the window.
	Duration time.Duration `json:"duration"`
	// Counts are the client attempts and their outcomes.
	Counts loadgen.Counts `json:"counts"`
	// Connect and Request are the client latencies (nil: none recorded).
	Connect *loadgen.Histogram `json:"connect,omitempty"`
	Request *loadgen.Histogram `json:"request,omitempty"`
	// NAT is what the NAT boxes saw.
	NAT NATStats `json:"nat"`
	// Backends holds each backend's counters, by backend name.
	Backends map[string]BackendStats `json:"backends,omitempty"`
	// Apps holds each app tier's figures, by app name.
	Apps map[string]AppStats `json:"apps,omitempty"`
	// Clients holds the attempts of each client host's loads, by host
	// name (an app tier's callers are the loads' client hosts too).
	Clients map[string]loadgen.Counts `json:"clients,omitempty"`
}

// NATStats are the NAT metrics of a window, over every NAT box.
type NATStats struct {
	// AllocationFailures is the rise of new flows the NAT could not map (conntrack drops, each once, and natlab's drop rules).
	AllocationFailures uint64 `json:"allocation_failures"`
	// PeakPortUtilization is the highest sampled ratio of mappings to the
	// port range, for any NAT IP and destination (0 to 1).
	PeakPortUtilization float64 `json:"peak_port_utilization"`
	// PeakConntrack is the highest sampled number of conntrack entries.
	PeakConntrack uint64 `json:"peak_conntrack"`
	// IPForwardOff is the sampled time during which ip_forward was 0.
	IPForwardOff time.Duration `json:"ip_forward_off"`
	// GCP holds Cloud NAT's metrics when a NAT box runs profile
	// gcp-cloud-nat (nil otherwise).
	GCP *GCPStats `json:"gcp,omitempty"`
	// AWS holds AWS NAT gateway's metrics when a NAT box runs profile
	// aws-nat-gateway (nil otherwise).
	AWS *AWSStats `json:"aws,omitempty"`
}

// AWSStats are AWS NAT gateway's metrics over a window, as CloudWatch
// names them: the counts' rise (Sum), and the highest sampled
// ActiveConnectionCount (Max).
type AWSStats struct {
	ErrorPortAllocation        uint64 `json:"ErrorPortAllocation"`
	PacketsDropCount           uint64 `json:"PacketsDropCount"`
	ActiveConnectionCount      int    `json:"ActiveConnectionCount"`
	ConnectionAttemptCount     uint64 `json:"ConnectionAttemptCount"`
	ConnectionEstablishedCount uint64 `json:"ConnectionEstablishedCount"`
	IdleTimeoutCount           uint64 `json:"IdleTimeoutCount"`
}

// GCPStats are Cloud NAT's metrics over a window, as Cloud Monitoring
// names them.
type GCPStats struct {
	// AllocatedPorts and PortUsage are the highest sampled allocation and
	// port usage of any VM; OpenConnections the highest sampled count.
	AllocatedPorts  int `json:"allocated_ports"`
	PortUsage       int `json:"port_usage"`
	OpenConnections int `json:"open_connections"`
	// AllocationFailed is whether nat_allocation_failed was sampled true.
	AllocationFailed bool `json:"nat_allocation_failed"`
	// DroppedSent (by reason) and NewConnections rose this much.
	DroppedSent    map[string]uint64 `json:"dropped_sent_packets_count"`
	NewConnections uint64            `json:"new_connections_count"`
}

// BackendStats are one backend's counters over a window.
type BackendStats struct {
	Accepted                  uint64 `json:"accepted"`
	RegistrationsFailedClosed uint64 `json:"registrations_failed_closed"`
	// ListenDrops counts SYNs and handshakes the backend's own kernel
	// dropped because a listener's accept queue was full (TcpExt
	// ListenDrops of its namespace): connections the server, not the
	// NAT, lost.
	ListenDrops uint64 `json:"listen_drops"`
	// Registrations counts verified registrations (registrar: POST
	// /register answered 200; rendezvous: holepunch requests answered
	// registered).
	Registrations uint64 `json:"registrations"`
	// The rendezvous service's work: holepunch requests received (each
	// redundant copy counts), probes answered through the probed
	// mapping, requests that claimed a mapping other than the one they
	// came from, distinct clients with a failed-closed request, and the
	// failed-closed requests split by the step that ran out of time.
	HolepunchRequests  uint64 `json:"holepunch_requests"`
	Verifications      uint64 `json:"verifications"`
	MappingChanged     uint64 `json:"mapping_changed"`
	FailedClients      uint64 `json:"failed_clients"`
	DependencyTimeouts uint64 `json:"dependency_timeouts"`
	ProbeTimeouts      uint64 `json:"probe_timeouts"`
	// DependencyPeakInUse and DependencyPeakQueue are the most lookups
	// the verification dependency ran at once and the most that waited
	// for a slot during the window (summed over server processes: an
	// upper bound when a host runs several). The whole run takes the
	// highest phase.
	DependencyPeakInUse uint64 `json:"dependency_peak_in_use"`
	DependencyPeakQueue uint64 `json:"dependency_peak_queue"`
	// PeerResets counts connections a TCP echo backend saw reset by the
	// other side.
	PeerResets uint64 `json:"peer_resets"`
}

// backendCounters are the BackendStats fields that count events, by
// metric name: a window's value is the rise over it, a run's the sum.
var backendCounters = map[string]func(*BackendStats) *uint64{
	"accepted":                    func(b *BackendStats) *uint64 { return &b.Accepted },
	"registrations_failed_closed": func(b *BackendStats) *uint64 { return &b.RegistrationsFailedClosed },
	"listen_drops":                func(b *BackendStats) *uint64 { return &b.ListenDrops },
	"peer_resets":                 func(b *BackendStats) *uint64 { return &b.PeerResets },
	"registrations":               func(b *BackendStats) *uint64 { return &b.Registrations },
	"holepunch_requests":          func(b *BackendStats) *uint64 { return &b.HolepunchRequests },
	"verifications":               func(b *BackendStats) *uint64 { return &b.Verifications },
	"mapping_changed":             func(b *BackendStats) *uint64 { return &b.MappingChanged },
	"failed_clients":              func(b *BackendStats) *uint64 { return &b.FailedClients },
	"dependency_timeouts":         func(b *BackendStats) *uint64 { return &b.DependencyTimeouts },
	"probe_timeouts":              func(b *BackendStats) *uint64 { return &b.ProbeTimeouts },
}

// backendPeaks are the BackendStats fields that are peaks of a gauge: a
// run's value is the highest of its phases.
var backendPeaks = map[string]func(*BackendStats) *uint64{
	"dependency_peak_in_use": func(b *BackendStats) *uint64 { return &b.DependencyPeakInUse },
	"dependency_peak_queue":  func(b *BackendStats) *uint64 { return &b.DependencyPeakQueue },
}

// Field returns the metric backend.<name>.<field> of b.
func (b BackendStats) Field(field string) (uint64, bool) {
	if f, ok := backendCounters[field]; ok {
		return *f(&b), true
	}
	if f, ok := backendPeaks[field]; ok {
		return *f(&b), true
	}
	return 0, false
}

// Add folds the window o into b: counters add up, peaks take the higher.
func (b *BackendStats) Add(o BackendStats) {
	for _, f := range backendCounters {
		*f(b) += *f(&o)
	}
	for _, f := range backendPeaks {
		*f(b) = max(*f(b), *f(&o))
	}
}

// Since is the window from was to b: counters rise by the difference (a
// counter below where it was belongs to a restarted backend and counts
// from zero); peaks, read at the end of the window, are b's. ListenDrops
// is a counter of the namespace, and rises the same way.
func (b BackendStats) Since(was BackendStats) BackendStats {
	out := b
	for _, f := range backendCounters {
		if now, then := *f(&b), *f(&was); now >= then {
			*f(&out) = now - then
		}
	}
	return out
}

// Point is one tick of the client time series; counts are deltas over the
// tick, which ends At after the start of the run (and starts where the
// previous point ends).
type Point struct {
	At       time.Duration `json:"at"`
	Attempts uint64        `json:"attempts"`
	OK       uint64        `json:"ok"`
	// Errors counts the attempts that ended in anything but ok (and were
	// not cancelled) during the tick.
	Errors uint64 `json:"errors"`
}

// FaultTime is when a fault was injected and reverted, since the start of
// the run. Reverted is zero when the fault was never reverted.
type FaultTime struct {
	Injected time.Duration `json:"injected"`
	Reverted time.Duration `json:"reverted"`
}

// AlarmState says whether and when an alarm fired.
type AlarmState struct {
	Fired bool `json:"fired"`
	// FirstFired is when it first fired, since the start of the run.
	FirstFired time.Duration `json:"first_fired"`
}

// Verdict is the judgement of one assertion.
type Verdict struct {
	Name     string `json:"name"`
	Passed   bool   `json:"passed"`
	Observed string `json:"observed"`
	Expected string `json:"expected"`
	Pos      Pos    `json:"pos"`
}
