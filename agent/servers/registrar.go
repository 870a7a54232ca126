package servers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
)

// FailClosedMessage is the body of the registrar's 503 when verification
// of the client's source address times out.
const FailClosedMessage = "verification timed out: failing closed"

// registration is the registrar's answer to a successful POST /register.
type registration struct {
	Registered bool   `json:"registered"`
	Source     string `json:"source"`
}

// handleRegister verifies the client's source address through the
// dependency within the verify timeout. It registers the client (200) when
// the lookup completes, and fails closed (503) when it does not: an
// unverified source is never accepted.
func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.spec.EffectiveVerifyTimeout())
	defer cancel()
	err := s.dep.lookup(ctx, s.done)
	switch {
	case err == nil:
		s.regOK.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(registration{Registered: true, Source: r.RemoteAddr})
	case errors.Is(err, errServerClosed):
		http.Error(w, "server closing", http.StatusServiceUnavailable)
	default:
		s.regFailed.Add(1)
		http.Error(w, FailClosedMessage, http.StatusServiceUnavailable)
	}
}
