// Package livemetrics serves the figures of a run as it goes, in the
// OpenMetrics text format (Prometheus exposition), for the length of the
// run: `natlab run --metrics-addr`.
//
// Every metric carries the labels run_id and scenario. The client side
// comes from the samples the load agents stream (exact counters and
// latency histograms) and the runner's merged tick (gauges); the NAT side
// from the sampler's reading of every NAT box each tick; fault flags from
// the chaos timeline's markers.
package livemetrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/natlab/natlab/scenario/runner"
)

// DefaultHost is the host an address without one binds: loopback.
const DefaultHost = "127.0.0.1"

// Path is where the metrics are served.
const Path = "/metrics"

// CheckAddr resolves the address --metrics-addr names: a missing host is
// DefaultHost (":9464" serves 127.0.0.1:9464), and a host outside loopback
// is refused unless public is true (--metrics-public). It returns the
// address to listen on.
func CheckAddr(addr string, public bool) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--metrics-addr %q: want HOST:PORT or :PORT, e.g. :9464: %w", addr, err)
	}
	if host == "" {
		host = DefaultHost
	}
	if !public && !isLoopback(host) {
		return "", fmt.Errorf("--metrics-addr %s is not a loopback address: the endpoint would be reachable from other machines; add --metrics-public to serve it there anyway", addr)
	}
	return net.JoinHostPort(host, port), nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Server is a metrics endpoint for one run.
type Server struct {
	run  *runState
	ln   net.Listener
	http *http.Server
	done chan struct{}
}

// Listen binds addr (as CheckAddr returned it) and starts serving. Until
// the run begins the endpoint serves no natlab metrics.
func Listen(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics endpoint: %w", err)
	}
	s := &Server{run: newRunState(), ln: ln, done: make(chan struct{})}
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.run)
	mux := http.NewServeMux()
	mux.Handle(Path, promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true, Registry: reg}))
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(s.done)
		_ = s.http.Serve(ln) // ends with ErrServerClosed
	}()
	return s, nil
}

// Addr is the address the endpoint listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL is the endpoint's URL.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() + Path }

// Close stops serving: the address refuses connections once Close returns.
// Scrapes under way get a second to finish.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.http.Close()
	}
	<-s.done
	return err
}

// Watcher is what the runner feeds (runner.Options.Watch).
func (s *Server) Watcher() runner.Watcher { return s.run }
