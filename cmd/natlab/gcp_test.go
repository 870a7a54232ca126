package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/reports"
)

// Two VMs behind a Cloud NAT with 64 ports each hold 80 connections each:
// the run's assertions on Cloud NAT's own metrics hold, and the report
// names the profile. Each of the 32 failed connects sends its SYN at 0 s
// and retransmits it at 1 s and 2 s (tcp_syn_linear_timeouts) within its
// 2.5 s: 96 OUT_OF_RESOURCES drops on a quiet machine. A retransmit timer
// that fires late under load may miss the 2.5 s, so the bound is 2 or 3
// SYNs per failed connect, never fewer: 64..96. The last five assertions
// judge the whole run, as report.json's NAT summary does, so that the
// report's figures can be checked against what they observed.
const cloudNATScenario = `name: cloud-nat-out-of-resources
testbed:
  nat: {profile: gcp-cloud-nat, nat_ips: 1, min_ports_per_vm: 64, tcp_time_wait_timeout_sec: 30}
  clients: {hosts: 1, addresses: 2}
  backends: [{name: api, protocol: tcp-echo, port: 8080}]
phases:
  - {name: hold, duration: 4s, load: {strategy: tcp, hold: 160, connect_timeout: 2500ms}}
assert:
  - {phase: hold, expect: ok == 128}
  - {phase: hold, expect: outcomes.connect_timeout == 32}
  - {phase: hold, expect: nat.dropped_sent_packets_count.OUT_OF_RESOURCES >= 64}
  - {phase: hold, expect: nat.dropped_sent_packets_count.OUT_OF_RESOURCES <= 96}
  - {phase: hold, expect: nat.allocated_ports == 64}
  - {phase: hold, expect: nat.port_usage == 64}
  - {expect: nat.nat_allocation_failed == false}
  - {expect: nat.dropped_sent_packets_count.OUT_OF_RESOURCES >= 64}
  - {expect: nat.dropped_sent_packets_count.ENDPOINT_INDEPENDENCE_CONFLICT == 0}
  - {expect: nat.allocated_ports == 64}
  - {expect: nat.open_connections == 128}
  - {expect: nat.new_connections_count > 0}
`

// The run of cloudNATScenario, also serving the live endpoint: its
// assertions hold; report.json, report.md, report.html and samples.csv
// carry Cloud NAT's figures with the values the whole-run assertions
// observed (samples.csv summing to report.json's, by checkRunDir), per VM
// too; the progress line shows them; and the live endpoint served them
// during the run.
func TestRunCloudNATScenario(t *testing.T) {
	requireRoot(t)
	out := t.TempDir()
	addr := "127.0.0.1:" + freeLoopbackPort(t)
	url := "http://" + addr + "/metrics"
	scenario := writeScenario(t, cloudNATScenario) // requires: in the test goroutine
	done := make(chan struct{})
	var code int
	var stdout, stderr string
	go func() {
		defer close(done)
		code, stdout, stderr = run(t, "run", scenario, "--out", out, "--metrics-addr", addr)
	}()
	scrapes := scrapeWhile(url, 250*time.Millisecond, done)
	if code != ExitPass {
		logFailed(t, out)
	}
	require.Equal(t, ExitPass, code, stdout+stderr)
	assert.Contains(t, stdout, "PASS: all 12 assertions held")
	rep := checkRunDir(t, out)
	require.Len(t, rep.Testbed.NATs, 1)
	assert.Equal(t, "gcp-cloud-nat", rep.Testbed.NATs[0].Mode)
	require.Len(t, rep.Assertions, 12)
	for _, a := range rep.Assertions {
		assert.True(t, a.Passed, "%s: observed %s", a.Expected, a.Observed)
	}
	observed := func(i int) uint64 {
		n, err := strconv.ParseUint(rep.Assertions[i].Observed, 10, 64)
		require.NoError(t, err, "assertion %s observed %q", rep.Assertions[i].Expected, rep.Assertions[i].Observed)
		return n
	}
	oor, newConns := observed(7), observed(11)
	require.Equal(t, uint64(64), observed(9))
	require.Equal(t, uint64(128), observed(10))

	// report.json: the whole-run figures, and each VM's: 64 ports, all
	// in use towards the one backend.
	require.Len(t, rep.NAT, 1)
	g := rep.NAT[0].GCP
	require.NotNil(t, g, "report.json has the Cloud NAT's metrics")
	assert.Equal(t, reports.GCPMetrics{AllocatedPorts: 64, PortUsage: 64, AllocationFailed: false,
		DroppedSent:    map[string]uint64{"OUT_OF_RESOURCES": oor, "ENDPOINT_INDEPENDENCE_CONFLICT": 0},
		NewConnections: newConns, OpenConnections: 128, VMs: g.VMs}, *g)
	// Every VM of the origin block gets its 64 ports; the two client
	// addresses use them all, the client host's link address none.
	var busy []reports.GCPVM
	for _, vm := range g.VMs {
		assert.Equal(t, 64, vm.AllocatedPorts, "VM %s", vm.VM)
		if vm.PortUsage > 0 {
			assert.Equal(t, 64, vm.PortUsage, "VM %s", vm.VM)
			busy = append(busy, vm)
		}
	}
	require.Len(t, busy, 2, "the two client addresses use their ports: %v", g.VMs)
	grew := false
	for _, s := range rep.Samples {
		if v, ok := s.NAT["nat"]; ok && v.GCP != nil {
			grew = grew || v.GCP.DroppedSent["OUT_OF_RESOURCES"] > 0
		}
	}
	assert.True(t, grew, "some sample of report.json has the drops")

	// report.md and report.html: the line and the VMs' table.
	line := fmt.Sprintf("metrics over the run: allocated_ports (max VM) 64, port_usage (max VM) 64, nat_allocation_failed false, "+
		"dropped_sent_packets_count OUT_OF_RESOURCES %d, ENDPOINT_INDEPENDENCE_CONFLICT 0, new_connections_count %d, open_connections (max) 128.", oor, newConns)
	md := readFile(t, filepath.Join(out, "report.md"))
	assert.Contains(t, md, "Cloud NAT `nat`, "+line)
	html := readFile(t, filepath.Join(out, "report.html"))
	assert.Contains(t, html, "<p>Cloud NAT nat, "+line+"</p>")
	for _, vm := range busy {
		assert.Contains(t, md, "| "+vm.VM+" | 64 | 64 |")
		assert.Contains(t, html, "<tr><td>"+vm.VM+`</td><td class="n">64</td><td class="n">64</td></tr>`)
	}

	// samples.csv: the drops of each reason over the rows are the run's
	// (checkRunDir checks every column against report.json).
	tab := readCSV(t, filepath.Join(out, "samples.csv"))
	var csvOOR float64
	for i, row := range tab.rows {
		if row["nat.nat.dropped_sent_packets_count.OUT_OF_RESOURCES"] != "" {
			csvOOR += tab.float(t, i, "nat.nat.dropped_sent_packets_count.OUT_OF_RESOURCES")
			assert.Equal(t, "0", row["nat.nat.nat_allocation_failed"], "row %d", i+1)
		}
	}
	assert.Equal(t, float64(oor), csvOOR)

	// The progress line: the last ticks, after the failed connects gave
	// up at 2.5 s, show every drop.
	assert.Contains(t, stdout, fmt.Sprintf("allocated_ports 64  port_usage 64  OUT_OF_RESOURCES %d  ENDPOINT_INDEPENDENCE_CONFLICT 0", oor))

	// The live endpoint: each VM's 64 ports, and the drops by reason,
	// which reach the run's total once the failed connects gave up (the
	// ticks after 2.5 s of the 4 s phase, scraped every 250 ms).
	require.NotEmpty(t, scrapes, "no scrape answered")
	var maxOOR, maxEIC, maxOpen float64
	allocSeen := map[string]bool{}
	for _, f := range scrapes {
		for _, vm := range busy {
			if v, ok := f.Value("natlab_nat_gcp_allocated_ports", "nat", "nat", "vm", vm.VM); ok && v == 64 {
				allocSeen[vm.VM] = true
			}
		}
		if v, ok := f.Value("natlab_nat_gcp_dropped_sent_packets_count_total", "nat", "nat", "reason", "OUT_OF_RESOURCES"); ok {
			maxOOR = max(maxOOR, v)
		}
		if v, ok := f.Value("natlab_nat_gcp_dropped_sent_packets_count_total", "nat", "nat", "reason", "ENDPOINT_INDEPENDENCE_CONFLICT"); ok {
			maxEIC = max(maxEIC, v)
		}
		if v, ok := f.Value("natlab_nat_gcp_open_connections", "nat", "nat"); ok {
			maxOpen = max(maxOpen, v)
		}
		if v, ok := f.Value("natlab_nat_gcp_nat_allocation_failed", "nat", "nat"); ok {
			assert.Zero(t, v, "nat_allocation_failed stays 0")
		}
	}
	t.Logf("%d scrapes; OUT_OF_RESOURCES up to %g of %d; open_connections up to %g", len(scrapes), maxOOR, oor, maxOpen)
	assert.Len(t, allocSeen, 2, "the endpoint served both VMs' 64 ports")
	assert.Equal(t, float64(oor), maxOOR, "the endpoint served the run's OUT_OF_RESOURCES drops")
	assert.Zero(t, maxEIC)
	assert.Equal(t, 128.0, maxOpen)

	// A bad setting is refused before anything is built, at its line.
	bad := writeScenario(t, `name: bad
testbed:
  nat: {profile: gcp-cloud-nat, enable_dynamic_port_allocation: true, min_ports_per_vm: 48}
  clients: {addresses: 1}
  backends: [{name: api, protocol: tcp-echo, port: 8080}]
phases:
  - {name: p, duration: 1s, load: {rate: 1/s}}
`)
	code, _, stderr = run(t, "run", bad)
	assert.Equal(t, ExitInput, code)
	assert.Contains(t, stderr, bad+":3:")
	assert.Contains(t, stderr, "min_ports_per_vm must be a power of two of at least 32")
}

// Dynamic port allocation through `natlab run`: two VMs that start with
// 64 ports each hold 80 connections; every allocation doubles to 128
// (SYNs dropped before it did are retransmitted into the bigger block;
// 5 s to connect leaves four retransmits), so all 160 connect. A quiet
// first phase gives readings before any load. samples.csv shows the
// allocation of the VM with the most going from 64 to 128 and never back
// within the run, and report.json each VM's peak: 128 ports and 80 in
// use for the two client addresses, 64 and none for the host's link
// address.
const cloudNATDPAScenario = `name: cloud-nat-dpa
testbed:
  nat: {profile: gcp-cloud-nat, nat_ips: 1, min_ports_per_vm: 64, max_ports_per_vm: 128, enable_dynamic_port_allocation: true}
  clients: {hosts: 1, addresses: 2}
  backends: [{name: api, protocol: tcp-echo, port: 8080}]
phases:
  - {name: quiet, duration: 2s}
  - {name: hold, duration: 7s, load: {strategy: tcp, hold: 160, connect_timeout: 5s}}
assert:
  - {phase: hold, expect: ok == 160}
  - {phase: quiet, expect: nat.allocated_ports == 64}
  - {phase: hold, expect: nat.allocated_ports == 128}
  - {expect: nat.nat_allocation_failed == false}
`

func TestRunCloudNATDynamicPortAllocation(t *testing.T) {
	requireRoot(t)
	out := t.TempDir()
	code, stdout, stderr := run(t, "run", writeScenario(t, cloudNATDPAScenario), "--out", out)
	if code != ExitPass {
		logFailed(t, out)
	}
	require.Equal(t, ExitPass, code, stdout+stderr)
	assert.Contains(t, stdout, "PASS: all 4 assertions held")
	rep := checkRunDir(t, out)

	tab := readCSV(t, filepath.Join(out, "samples.csv"))
	var allocs []int
	for i, row := range tab.rows {
		if row["nat.nat.allocated_ports"] != "" {
			allocs = append(allocs, int(tab.float(t, i, "nat.nat.allocated_ports")))
		}
	}
	t.Logf("allocated_ports by tick: %v", allocs)
	require.NotEmpty(t, allocs)
	assert.Equal(t, 64, allocs[0], "the first reading, before any load")
	assert.Equal(t, 128, allocs[len(allocs)-1], "the last, with 80 held per VM")
	for i := 1; i < len(allocs); i++ {
		assert.Contains(t, []int{64, 128}, allocs[i], "an allocation doubles, from 64 to 128")
		assert.GreaterOrEqual(t, allocs[i], allocs[i-1], "no shrink while the connections are held")
	}

	require.Len(t, rep.NAT, 1)
	g := rep.NAT[0].GCP
	require.NotNil(t, g)
	var busy []reports.GCPVM
	for _, vm := range g.VMs {
		if vm.PortUsage == 0 {
			assert.Equal(t, 64, vm.AllocatedPorts, "an idle VM keeps its minimum: %s", vm.VM)
			continue
		}
		assert.Equal(t, reports.GCPVM{VM: vm.VM, AllocatedPorts: 128, PortUsage: 80}, vm)
		busy = append(busy, vm)
	}
	assert.Len(t, g.VMs, 3, "two client addresses and the host's link address: %v", g.VMs)
	require.Len(t, busy, 2, "%v", g.VMs)
	md := readFile(t, filepath.Join(out, "report.md"))
	for _, vm := range busy {
		assert.Contains(t, md, "| "+vm.VM+" | 128 | 80 |")
	}
}

// Endpoint-independent mapping through `natlab run`, on both testbeds:
// every datagram leaves the VM from port 40000 (local_ports is a range of
// one; one worker, so no two sockets want it at once), first to stun1,
// then to stun2. Both answer every one; the NAT
// tracked exactly the two flows (one 5-tuple each), each on one NAT port
// towards its backend, and dropped nothing as a conflict. The second
// phase is the longer so that a NAT reading comes after its flow began (a
// closed schedule of one worker makes as many exchanges as the machine
// allows, so the counts of ok are not fixed; new_connections_count is a
// rise between readings, and the first reading may come after the first
// datagram). That both backends saw the
// same NAT ip:port is checked on their own peers by
// testbedtest.CheckEIMOneMapping (testbed/netns, docker).
const cloudNATEIMScenario = `name: cloud-nat-eim
testbed:
  nat: {profile: gcp-cloud-nat, nat_ips: 1, min_ports_per_vm: 64, enable_endpoint_independent_mapping: true}
  clients: {hosts: 1, addresses: 1}
  backends: [{name: stun1, protocol: udp-echo, port: 3478}, {name: stun2, protocol: udp-echo, port: 3478}]
phases:
  - {name: one, duration: 1s, load: {target: stun1, strategy: udp, local_ports: 40000-40000, concurrency: 1}}
  - {name: two, duration: 2s, load: {target: stun2, strategy: udp, local_ports: 40000-40000, concurrency: 1}}
assert:
  - {phase: one, expect: ok > 0}
  - {phase: one, expect: error_rate == 0}
  - {phase: two, expect: ok > 0}
  - {phase: two, expect: error_rate == 0}
  - {expect: nat.peak_conntrack == 2}
  - {expect: nat.port_usage == 1}
  - {expect: nat.dropped_sent_packets_count.ENDPOINT_INDEPENDENCE_CONFLICT == 0}
`

func TestRunCloudNATEIMScenario(t *testing.T) {
	requireRoot(t)
	for _, testbed := range []string{"netns", "docker"} {
		t.Run(testbed, func(t *testing.T) {
			if testbed == "docker" {
				requireDocker(t)
			}
			out := t.TempDir()
			code, stdout, stderr := run(t, "run", writeScenario(t, cloudNATEIMScenario), "--testbed", testbed, "--out", out)
			if code != ExitPass {
				logFailed(t, out)
			}
			require.Equal(t, ExitPass, code, stdout+stderr)
			assert.Contains(t, stdout, "PASS: all 7 assertions held")
		})
	}

	// EIM with dynamic port allocation is refused at its line.
	bad := writeScenario(t, `name: bad
testbed:
  nat: {profile: gcp-cloud-nat, enable_dynamic_port_allocation: true,
        enable_endpoint_independent_mapping: true}
  clients: {addresses: 1}
  backends: [{name: api, protocol: tcp-echo, port: 8080}]
phases:
  - {name: p, duration: 1s, load: {rate: 1/s}}
`)
	code, _, stderr := run(t, "run", bad)
	assert.Equal(t, ExitInput, code)
	assert.Contains(t, stderr, bad+":4:")
	assert.Contains(t, stderr, "Cloud NAT refuses the two together")
}
