package main

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/natlab/natlab/livemetrics"
	"github.com/natlab/natlab/scenario/runner"
)

// metricsFlags are --metrics-addr and --metrics-public, of run.
type metricsFlags struct {
	addr   string
	public bool
}

func (m *metricsFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&m.addr, "metrics-addr", "", "serve live OpenMetrics at http://ADDR/metrics for the length of the run, e.g. :9464 (a missing host is 127.0.0.1)")
	fl.BoolVar(&m.public, "metrics-public", false, "allow --metrics-addr outside loopback (the endpoint is then reachable from other machines)")
}

// start binds the endpoint and says where it is; with no --metrics-addr it
// returns a nil watcher. stop closes the endpoint (a no-op without one).
func (m *metricsFlags) start(out io.Writer) (w runner.Watcher, stop func(), err error) {
	if m.addr == "" {
		if m.public {
			return nil, nil, inputErr(fmt.Errorf("--metrics-public needs --metrics-addr"))
		}
		return nil, func() {}, nil
	}
	addr, err := livemetrics.CheckAddr(m.addr, m.public)
	if err != nil {
		return nil, nil, inputErr(err)
	}
	srv, err := livemetrics.Listen(addr)
	if err != nil {
		return nil, nil, err // the address is taken or cannot be bound: environment
	}
	fmt.Fprintf(out, "metrics at %s\n", srv.URL())
	return srv.Watcher(), func() { _ = srv.Close() }, nil
}
