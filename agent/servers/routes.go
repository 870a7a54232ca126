package servers

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/natlab/natlab/testbed/service"
)

// maxDelay caps GET /delay/{ms}.
const maxDelay = 10 * time.Minute

// routes returns the HTTP routes the protocol serves:
//
//	GET /              200, a short body naming the server
//	GET /whoami        the client's ip:port as the server saw it
//	GET /status/{code} answers with that status (200-599)
//	GET /delay/{ms}    answers 200 after ms milliseconds
//	POST /register     registrar only: verify the source, then register
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.handleRoot)
	mux.HandleFunc("GET /whoami", handleWhoami)
	mux.HandleFunc("GET /status/{code}", handleStatus)
	mux.HandleFunc("GET /delay/{ms}", s.handleDelay)
	if s.spec.Protocol == service.Registrar {
		mux.HandleFunc("POST /register", s.handleRegister)
	}
	return mux
}

// handleRoot answers 200 with a short body.
func (s *Server) handleRoot(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = fmt.Fprintf(w, "%s ok\n", s.spec.Name)
}

// handleWhoami answers with the client's address exactly as seen, e.g.
// "198.19.0.1:1025" (no trailing newline).
func handleWhoami(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(r.RemoteAddr))
}

// handleStatus answers with the status code named in the path.
func handleStatus(w http.ResponseWriter, r *http.Request) {
	code, err := strconv.Atoi(r.PathValue("code"))
	if err != nil || code < 200 || code > 599 {
		http.Error(w, "status code must be a number 200-599", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = fmt.Fprintf(w, "%d %s\n", code, http.StatusText(code))
}

// handleDelay answers 200 after the number of milliseconds in the path.
func (s *Server) handleDelay(w http.ResponseWriter, r *http.Request) {
	ms, err := strconv.ParseInt(r.PathValue("ms"), 10, 64)
	if err != nil || ms < 0 || time.Duration(ms)*time.Millisecond > maxDelay {
		http.Error(w, fmt.Sprintf("delay must be milliseconds 0-%d", maxDelay.Milliseconds()), http.StatusBadRequest)
		return
	}
	t := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
		return
	case <-s.done:
		http.Error(w, "server closing", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = fmt.Fprintf(w, "delayed %dms\n", ms)
}
