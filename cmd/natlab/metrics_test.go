package main

import (
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/internal/browsertest"
	"github.com/natlab/natlab/internal/metricstest"
)

// An exhaustion run, then forwarding turned off: the NAT's port
// utilization climbs as unpooled connections pin ports (held 120 s by the
// managed NAT), and the fault flag is up while ip_forward is 0.
const liveScenario = `name: live-metrics
testbed:
  nat: {ips: 1, ports: 1024-1279, mode: managed, hold: 120s}
  clients: {hosts: 1, addresses: 50}
  backends: [{name: api, protocol: http1, port: 8080}]
phases:
  - {name: fill, duration: 6s, load: {strategy: http1, pool: none, rate: 30/s, connect_timeout: 1s}}
  - {name: outage, duration: 5s, load: {strategy: http1, pool: none, rate: 5/s, connect_timeout: 1s, request_timeout: 1s}}
faults:
  - {name: forwarding-off, at: 7s, for: 3s, kind: sysctl, host: nat, set: {net.ipv4.ip_forward: 0}}
assert:
  - phase: fill
    expect: error_rate < 1%
`

// freeLoopbackPort is a port of 127.0.0.1 nothing listens on now.
func freeLoopbackPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return strconv.Itoa(port)
}

// scrapeWhile scrapes url every interval until done is closed and returns
// every scrape that answered.
func scrapeWhile(url string, interval time.Duration, done <-chan struct{}) []metricstest.Families {
	var out []metricstest.Families
	tk := time.NewTicker(interval)
	defer tk.Stop()
	for {
		select {
		case <-done:
			return out
		case <-tk.C:
			if f, err := metricstest.Scrape(url); err == nil {
				out = append(out, f)
			}
		}
	}
}

func TestMetricsEndpointDuringARun(t *testing.T) {
	requireRoot(t)
	addr := "127.0.0.1:" + freeLoopbackPort(t)
	url := "http://" + addr + "/metrics"
	done := make(chan struct{})
	var code int
	var stdout, stderr string
	out := t.TempDir()
	scenario := writeScenario(t, liveScenario) // requires: in the test goroutine
	go func() {
		defer close(done)
		code, stdout, stderr = run(t, "run", scenario, "--out", out, "--metrics-addr", addr)
	}()
	scrapes := scrapeWhile(url, 250*time.Millisecond, done)
	require.Equal(t, ExitPass, code, stdout+stderr)
	assert.Contains(t, stdout, "metrics at "+url)

	var utils []float64
	var flags []float64
	var runID string
	for _, f := range scrapes {
		if u, ok := f.Value("natlab_nat_port_utilization", "nat", "nat", "scenario", "live-metrics"); ok {
			utils = append(utils, u)
		}
		if v, ok := f.Value("natlab_fault_active", "fault", "forwarding-off", "kind", "sysctl", "host", "nat"); ok {
			flags = append(flags, v)
		}
		if mf := f["natlab_nat_port_utilization"]; mf != nil && runID == "" {
			for _, lp := range mf.GetMetric()[0].GetLabel() {
				if lp.GetName() == "run_id" {
					runID = lp.GetValue()
				}
			}
		}
	}
	require.NotEmpty(t, utils, "no scrape served the NAT's port utilization (%d scrapes)", len(scrapes))
	t.Logf("%d scrapes; port utilization %v; fault flag %v; run %s", len(scrapes), utils, flags, runID)
	require.NotEmpty(t, runID)
	assert.Contains(t, stdout, "(run "+runID+")", "the run_id label is the run's id")

	// Rising: the peak comes after the first reading, well above it, and
	// the readings climb several times on the way.
	rises, peak := 0, 0
	for i := 1; i < len(utils); i++ {
		if utils[i] > utils[i-1] {
			rises++
		}
		if utils[i] > utils[peak] {
			peak = i
		}
	}
	assert.Greater(t, utils[peak], 0.4, "30/s for 6s of unpooled connections pin ~180 of 256 ports")
	assert.Greater(t, utils[peak], utils[0]+0.3, "utilization rose")
	assert.GreaterOrEqual(t, rises, 3, "utilization climbed tick by tick")

	// The fault flag: down, then up during the fault, then down again.
	first, up, after := -1, -1, -1
	for i, v := range flags {
		switch {
		case v == 0 && up < 0 && first < 0:
			first = i
		case v == 1 && up < 0:
			up = i
		case v == 0 && up >= 0 && after < 0:
			after = i
		}
	}
	assert.GreaterOrEqual(t, first, 0, "the flag was down before the fault")
	assert.Greater(t, up, first, "the flag was up during the fault: %v", flags)
	assert.Greater(t, after, up, "the flag was down after the revert: %v", flags)

	_, err := metricstest.Scrape(url)
	require.Error(t, err, "the endpoint is gone after the run")
	assert.ErrorContains(t, err, "connection refused")

	// The run's own report, with its fault window, in a browser.
	browsertest.Check(t, browsertest.Open(t, filepath.Join(out, "report.html"), "report-live-metrics"), 5, true)
}

// Outside loopback needs --metrics-public: refused before anything runs.
func TestMetricsAddrOutsideLoopbackIsRefused(t *testing.T) {
	code, _, stderr := run(t, "run", "egress-baseline", "--metrics-addr", "0.0.0.0:9464")
	assert.Equal(t, ExitInput, code)
	assert.Contains(t, stderr, "--metrics-public")
	code, _, stderr = run(t, "run", "egress-baseline", "--metrics-public")
	assert.Equal(t, ExitInput, code)
	assert.Contains(t, stderr, "--metrics-public needs --metrics-addr")
}
