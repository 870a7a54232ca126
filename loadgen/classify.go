package loadgen

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// Stage says where in an attempt an error happened; it decides whether a
// timeout is a connect timeout or a read timeout.
type Stage uint8

// Stages of an attempt.
const (
	// StageConnect covers socket set-up, bind and the handshake.
	StageConnect Stage = iota
	// StageRequest covers everything after the connection is up.
	StageRequest
)

// Classify maps an error seen at the given stage to its outcome. A nil error
// is OutcomeOK. Syscall errnos are matched with errors.Is, timeouts through
// net.Error.Timeout, os.ErrDeadlineExceeded and context.DeadlineExceeded.
func Classify(err error, stage Stage) Outcome {
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, errPoolTimeout):
		return OutcomePoolTimeout
	case errors.Is(err, context.Canceled):
		return OutcomeCancelled
	case errors.Is(err, syscall.ECONNREFUSED):
		return OutcomeRefused
	case errors.Is(err, syscall.ECONNRESET):
		return OutcomeReset
	case errors.Is(err, syscall.EPIPE):
		return OutcomeBrokenPipe
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EADDRINUSE):
		return OutcomeAddrNotAvail
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return OutcomeUnreachable
	case isTimeout(err):
		if stage == StageConnect {
			return OutcomeConnectTimeout
		}
		return OutcomeReadTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return OutcomeClosed
	}
	return OutcomeOther
}

func isTimeout(err error) bool {
	if errors.Is(err, syscall.ETIMEDOUT) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// StatusOutcome maps an HTTP status code to its outcome: 2xx is ok, 3xx, 4xx
// and 5xx their class, anything else other.
func StatusOutcome(code int) Outcome {
	switch {
	case code >= 200 && code < 300:
		return OutcomeOK
	case code >= 300 && code < 400:
		return OutcomeHTTP3xx
	case code >= 400 && code < 500:
		return OutcomeHTTP4xx
	case code >= 500 && code < 600:
		return OutcomeHTTP5xx
	}
	return OutcomeOther
}
