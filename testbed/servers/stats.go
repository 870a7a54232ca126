package servers

import (
	"strconv"
	"sync/atomic"
)

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
	// Requests counts HTTP requests, echoed TCP reads and echoed datagrams.
	Requests uint64 `json:"requests"`
	// Bytes counts bytes echoed back (TCP and UDP echo only).
	Bytes uint64 `json:"bytes"`
	// Resets counts connections the server aborted with an RST
	// because SetReset was on.
	Resets uint64 `json:"resets"`
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
}

// RegistrationStats counts registration outcomes (registrar only).
type RegistrationStats struct {
	// OK counts registrations whose source address was verified.
	OK uint64 `json:"ok"`
	// FailedClosed counts registrations refused with 503 because the
	// verification did not complete in time.
	FailedClosed uint64 `json:"failed_closed"`
}

// statusClasses counts HTTP responses by class: index 1 is 1xx ... 5 is 5xx.
type statusClasses [6]atomic.Uint64

// add counts one response with status code.
func (s *statusClasses) add(code int) {
	if i := code / 100; i >= 1 && i <= 5 {
		s[i].Add(1)
	}
}

// snapshot returns the non-zero classes keyed "2xx" etc.
func (s *statusClasses) snapshot() map[string]uint64 {
	m := make(map[string]uint64)
	for i := 1; i <= 5; i++ {
		if n := s[i].Load(); n > 0 {
			m[strconv.Itoa(i)+"xx"] = n
		}
	}
	return m
}
