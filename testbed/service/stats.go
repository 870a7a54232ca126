package service

import "time"

// Stats is a snapshot of a server's counters.
type Stats struct {
	// Name and Protocol repeat the server's Spec.
	Name     string   `json:"name"`
	Protocol Protocol `json:"protocol"`
	// Addr is the bound listen address.
	Addr string `json:"addr"`
	// Accepted counts TCP connections accepted since start (including
	// ones reset on accept); for UDP, distinct source ip:port flows seen.
	Accepted uint64 `json:"accepted"`
	// Active is TCP connections open now; for UDP, flows that sent a
	// datagram within the last UDPFlowIdle.
	Active int64 `json:"active"`
	// Requests counts HTTP requests, echoed TCP reads and echoed
	// datagrams, and the rendezvous service's holepunch datagrams.
	Requests uint64 `json:"requests"`
	// Bytes counts bytes echoed back (TCP and UDP echo only).
	Bytes uint64 `json:"bytes"`
	// Resets counts connections the server aborted with an RST
	// because SetReset was on.
	Resets uint64 `json:"resets"`
	// PeerResets counts connections a TCP echo server saw reset by the
	// other side (a read failed with ECONNRESET): an RST from the client,
	// or from a NAT in between.
	PeerResets uint64 `json:"peer_resets,omitempty"`
	// AcceptErrors counts failed accepts (e.g. EMFILE at the file limit).
	AcceptErrors uint64 `json:"accept_errors"`
	// Stalled counts requests or echo replies held back by Stall.
	Stalled uint64 `json:"stalled"`
	// Peers summarises the sources the server saw.
	Peers PeerSummary `json:"peers"`
	// Status counts HTTP responses by class ("2xx", "5xx"); nil for echo
	// servers, classes never answered are absent.
	Status map[string]uint64 `json:"status,omitempty"`
	// Registrations counts the registrar's POST /register outcomes.
	Registrations RegistrationStats `json:"registrations"`
	// Dependency describes the registrar's verification dependency.
	Dependency DependencyStats `json:"dependency"`
	// Holepunch counts the rendezvous service's work (rendezvous only).
	Holepunch HolepunchStats `json:"holepunch,omitzero"`
	// ListenOverflows and ListenDrops are the TcpExt counters of the
	// backend host's network namespace (/proc/net/netstat): SYNs or
	// handshakes dropped because a listener's accept queue was full. They
	// are namespace-wide, so every server of a host shows the same
	// figures; zero when the agent could not read them.
	ListenOverflows uint64 `json:"listen_overflows,omitempty"`
	ListenDrops     uint64 `json:"listen_drops,omitempty"`
	// Processes is how many server processes these counters merge (see
	// Merge); 0 means one.
	Processes int `json:"processes,omitempty"`
}

// RegistrationStats counts registration outcomes (registrar only).
type RegistrationStats struct {
	// OK counts registrations whose source address was verified.
	OK uint64 `json:"ok"`
	// FailedClosed counts registrations refused with 503 because the
	// verification did not complete in time.
	FailedClosed uint64 `json:"failed_closed"`
}

// HolepunchStats counts what a rendezvous service did with holepunch
// requests. Every request ends registered or failed closed, once:
// Requests == Registered + FailedClosed + InProgress.
type HolepunchStats struct {
	// Requests counts holepunch datagrams received (redundant copies
	// each count: each triggers its own lookup and probe).
	Requests uint64 `json:"requests"`
	// Verified counts probes answered through the mapping probed.
	Verified uint64 `json:"verified"`
	// Registered counts requests answered "registered".
	Registered uint64 `json:"registered"`
	// FailedClosed counts requests answered "refused": the dependency
	// lookup or the probe did not complete within the verify timeout.
	FailedClosed uint64 `json:"failed_closed"`
	// DependencyTimeouts and ProbeTimeouts split FailedClosed by the
	// step that ran out of time.
	DependencyTimeouts uint64 `json:"dependency_timeouts"`
	ProbeTimeouts      uint64 `json:"probe_timeouts"`
	// MappingChanged counts requests whose claimed public ip:port (the
	// mapping the client learned earlier) differs from the one they came
	// from: the client's NAT mapping changed since it last registered.
	MappingChanged uint64 `json:"mapping_changed"`
	// FailedClients counts distinct clients (by the private ip:port they
	// report) with at least one failed-closed request.
	FailedClients uint64 `json:"failed_clients"`
	// InProgress is requests being verified now.
	InProgress int64 `json:"in_progress"`
}

// MaxListedPeers caps how many distinct source IPs PeerSummary.IPs lists.
const MaxListedPeers = 64

// PeerSummary describes the sources a server saw: how many distinct IPs,
// the first MaxListedPeers of them in address order, and the lowest and
// highest source port. After a NAT these are the NAT's IPs and ports.
type PeerSummary struct {
	// Distinct is the number of distinct source IPs seen.
	Distinct int `json:"distinct"`
	// IPs lists up to MaxListedPeers of those IPs, sorted.
	IPs []string `json:"ips,omitempty"`
	// Truncated is true when IPs lists fewer than Distinct.
	Truncated bool `json:"truncated,omitempty"`
	// MinPort is the lowest source port seen (0 when none was seen).
	MinPort uint16 `json:"min_port"`
	// MaxPort is the highest source port seen (0 when none was seen).
	MaxPort uint16 `json:"max_port"`
}

// DependencyStats describes the registrar's verification dependency (the
// cache/database it looks source addresses up in).
type DependencyStats struct {
	// Limit is the concurrent lookups allowed; 0 = unlimited.
	Limit int `json:"limit"`
	// Latency is how long each lookup takes.
	Latency time.Duration `json:"latency"`
	// InFlight is lookups running now, including ones whose caller
	// already gave up (a database keeps working on an abandoned query).
	InFlight int64 `json:"in_flight"`
	// Waiting is lookups queued for a free slot now.
	Waiting int64 `json:"waiting"`
	// Lookups counts lookups that completed in time for their caller.
	Lookups uint64 `json:"lookups"`
	// TimedOut counts lookups whose caller gave up waiting.
	TimedOut uint64 `json:"timed_out"`
	// PeakInFlight and PeakWaiting are the highest InFlight and Waiting
	// since the server started or its peaks were last reset.
	PeakInFlight int64 `json:"peak_in_flight"`
	PeakWaiting  int64 `json:"peak_waiting"`
	// Mixed says the server processes merged here (Merge) do not all
	// have the same Limit and Latency; those are the first one's.
	Mixed bool `json:"mixed,omitempty"`
}
