package servers

import (
	"io"
	"log"
	"net/http"
	"time"

	"github.com/natlab/natlab/testbed/service"
)

// maxStreamsPerConn lets one h2c connection carry many concurrent streams,
// so multiplexed load stays on one connection.
const maxStreamsPerConn = 1000

// readHeaderTimeout bounds how long a connection may sit before sending
// its first request headers. It is long because "hold N connections open"
// load may dial without sending anything for the length of a phase.
const readHeaderTimeout = 10 * time.Minute

// newHTTPServer builds the http.Server for an HTTP protocol: HTTP/1.1
// always, cleartext HTTP/2 (prior knowledge) too for h2c and the registrar.
func (s *Server) newHTTPServer() *http.Server {
	hs := &http.Server{
		Handler:           s.instrument(s.routes()),
		ReadHeaderTimeout: readHeaderTimeout,
		ErrorLog:          log.New(io.Discard, "", 0), // resets are expected here
		Protocols:         new(http.Protocols),
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: maxStreamsPerConn},
	}
	hs.Protocols.SetHTTP1(true)
	if s.spec.Protocol == service.H2C || s.spec.Protocol == service.Registrar {
		hs.Protocols.SetUnencryptedHTTP2(true)
	}
	return hs
}

// instrument wraps next with the stall gate and the request and status
// counters, and makes Close wait for the handler.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.work.enter() {
			http.Error(w, "server closing", http.StatusServiceUnavailable)
			return
		}
		defer s.work.leave()
		if s.stall.wait(r.Context(), s.done) {
			s.stalled.Add(1)
		}
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.code == 0 {
			rec.code = http.StatusOK
		}
		s.status.add(rec.code)
		s.requests.Add(1)
	})
}

// statusRecorder remembers the status code a handler answered with.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

// WriteHeader records code (the first final one) and passes it on.
func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 && code >= 200 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write answers 200 when no status was written yet, then writes p.
func (r *statusRecorder) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(p)
}

// Unwrap gives http.ResponseController the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
