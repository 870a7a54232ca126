package loadgen

import (
	"fmt"
)

// Outcome is the single class an attempt ends in.
type Outcome uint8

// The outcome classes. Their names (String, JSON) are stable.
const (
	// OutcomeOK: the request got a complete, successful answer (HTTP 2xx),
	// or, under a hold schedule, the connection was established.
	OutcomeOK Outcome = iota
	// OutcomeConnectTimeout: the connection was not established within
	// ConnectTimeout (SYNs unanswered, e.g. a NAT that drops).
	OutcomeConnectTimeout
	// OutcomeReadTimeout: the connection was up but the answer did not
	// arrive within RequestTimeout (covers write and read deadlines).
	OutcomeReadTimeout
	// OutcomeRefused: ECONNREFUSED (RST to the SYN, ICMP port unreachable).
	OutcomeRefused
	// OutcomeReset: ECONNRESET on an established connection.
	OutcomeReset
	// OutcomeAddrNotAvail: no free local port (EADDRNOTAVAIL, or EADDRINUSE
	// when binding): client-side port exhaustion.
	OutcomeAddrNotAvail
	// OutcomeBrokenPipe: EPIPE, a write on a connection the peer had closed.
	OutcomeBrokenPipe
	// OutcomeClosed: the peer closed the connection (EOF) before a full answer.
	OutcomeClosed
	// OutcomeUnreachable: ENETUNREACH or EHOSTUNREACH.
	OutcomeUnreachable
	// OutcomeHTTP3xx: an HTTP answer with a 3xx status (redirects are not followed).
	OutcomeHTTP3xx
	// OutcomeHTTP4xx: an HTTP answer with a 4xx status.
	OutcomeHTTP4xx
	// OutcomeHTTP5xx: an HTTP answer with a 5xx status.
	OutcomeHTTP5xx
	// OutcomePoolTimeout: no pooled connection became free within
	// RequestTimeout.
	OutcomePoolTimeout
	// OutcomeDropped: the client did not send the attempt because
	// MaxInFlight attempts were already outstanding (open schedules).
	OutcomeDropped
	// OutcomeCancelled: the run's context was cancelled while the attempt
	// was in flight.
	OutcomeCancelled
	// OutcomeOther: any other error; the raw error text is kept in
	// Result.Errors (bounded).
	OutcomeOther

	numOutcomes = int(OutcomeOther) + 1
)

var outcomeNames = [numOutcomes]string{
	OutcomeOK:             "ok",
	OutcomeConnectTimeout: "connect_timeout",
	OutcomeReadTimeout:    "read_timeout",
	OutcomeRefused:        "refused",
	OutcomeReset:          "reset",
	OutcomeAddrNotAvail:   "addr_not_avail",
	OutcomeBrokenPipe:     "broken_pipe",
	OutcomeClosed:         "closed",
	OutcomeUnreachable:    "unreachable",
	OutcomeHTTP3xx:        "http_3xx",
	OutcomeHTTP4xx:        "http_4xx",
	OutcomeHTTP5xx:        "http_5xx",
	OutcomePoolTimeout:    "pool_timeout",
	OutcomeDropped:        "dropped_by_client",
	OutcomeCancelled:      "cancelled",
	OutcomeOther:          "other",
}

// AllOutcomes lists every outcome in a stable order.
func AllOutcomes() []Outcome {
	out := make([]Outcome, numOutcomes)
	for i := range out {
		out[i] = Outcome(i)
	}
	return out
}

// String returns the stable name of the outcome, e.g. "connect_timeout".
func (o Outcome) String() string {
	if int(o) < numOutcomes {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// ParseOutcome returns the outcome with the given name.
func ParseOutcome(s string) (Outcome, error) {
	for i, n := range outcomeNames {
		if n == s {
			return Outcome(i), nil
		}
	}
	return 0, fmt.Errorf("parse outcome: unknown outcome %q", s)
}

// MarshalText encodes the outcome as its name (used for JSON values and map keys).
func (o Outcome) MarshalText() ([]byte, error) {
	if int(o) >= numOutcomes {
		return nil, fmt.Errorf("marshal outcome: unknown outcome %d", uint8(o))
	}
	return []byte(o.String()), nil
}

// UnmarshalText decodes an outcome name.
func (o *Outcome) UnmarshalText(b []byte) error {
	v, err := ParseOutcome(string(b))
	if err != nil {
		return err
	}
	*o = v
	return nil
}
