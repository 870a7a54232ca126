package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/netns"
	tt "github.com/natlab/natlab/testbed/testbedtest"
)

// badInput is one input natlab must refuse before it builds anything.
type badInput struct {
	name string
	// body is the scenario file's text; file, when set, names a file to
	// use as it is instead.
	body, file string
	// args are extra flags for both validate and run; a "%dir%" in them
	// is the case's temp dir.
	args []string
	// want are substrings of the error: the position and what is valid.
	want []string
}

const okScenario = `name: t
testbed:
  nat: {ips: 1, ports: 1024-1279}
  clients: {hosts: 1, addresses: 10}
  backends: [{name: api, protocol: http1, port: 8080}]
phases:
  - {name: p1, duration: 20s, load: {rate: 10/s}}
`

var badInputs = []badInput{
	{name: "yaml syntax error at its column", body: "name: t\ntestbed:\n  nat: {ips: 1\n  clients: x\n",
		want: []string{"s.yaml:4:10: yaml syntax: did not find expected ',' or '}' (while parsing a flow mapping that starts at 3:8)"}},
	{name: "a second document", body: okScenario + "---\nname: other\n",
		want: []string{"s.yaml:8:1: a second YAML document starts here", "holds one document"}},
	{name: "a device that never ends", file: "/dev/zero",
		want: []string{"/dev/zero:1:1: the file is larger than 1024 KiB", "at most 1024 KiB"}},
	{name: "a file too large", body: okScenario + "description: " + strings.Repeat("x", 2<<20) + "\n",
		want: []string{"s.yaml:1:1: the file is larger than 1024 KiB"}},
	{name: "values nested too deep", body: okScenario + "description: " + strings.Repeat("[", 150) + strings.Repeat("]", 150) + "\n",
		want: []string{"s.yaml:8:113: values nest more than 100 levels deep"}},
	{name: "an unknown key", body: okScenario + "phasess: []\n",
		want: []string{"s.yaml:8:1: ", "phasess", "phases"}},
	{name: "a --set of a missing phase", body: okScenario, args: []string{"--set", "phases[3].duration=1s"},
		want: []string{"--set phases[3].duration=1s", "out of range"}},
	{name: "a fault that does not fit its host's role", body: okScenario + "faults:\n  - {at: 1s, kind: kill, host: client}\n",
		want: []string{"s.yaml:9:26: ", `"client" is a client host; kill applies to a NAT box or a backend: nat, api`}},
	{name: "snat to more IPs than the NAT has", body: okScenario + "faults:\n  - {at: 1s, kind: snat, host: nat, ips: 5}\n",
		want: []string{"s.yaml:9:37: ", "ips: 5 is more than nat has (1 NAT IP on wan0): want 1"}},
	{name: "link down on the LAN side", body: okScenario + "faults:\n  - {at: 1s, kind: link, host: nat, interface: lan0}\n",
		want: []string{"s.yaml:9:37: ", "only wan0 can go down"}},
	{name: "two snat faults overlapping", body: okScenario + "faults:\n  - {at: 1s, for: 5s, kind: snat, host: nat, ports: 1024-1087}\n  - {at: 3s, kind: snat, host: nat, ports: 1024-1100}\n",
		want: []string{"s.yaml:10:5: ", `overlaps fault "faults[0]" (snat, line 9) on nat from 3s to 6s`, "give \"faults[0]\" a for that ends by 3s"}},
	{name: "nat-config overlapping an snat change", body: okScenario + "faults:\n  - {at: 1s, for: 5s, kind: snat, host: nat, ports: 1024-1087}\n  - {at: 3s, kind: nat-config, host: nat, ips: 1}\n",
		want: []string{"s.yaml:10:5: ", `overlaps fault "faults[0]" (snat, line 9) on nat from 3s to 6s`}},
	{name: "a Cloud NAT setting of nat-config on a linux NAT", body: okScenario + "faults:\n  - {at: 1s, kind: nat-config, host: nat, min_ports_per_vm: 64}\n",
		want: []string{"s.yaml:9:43: ", "min_ports_per_vm is a setting of profile gcp-cloud-nat, and nat is linux: its settings are ips"}},
	{name: "static slices that cannot fit", body: strings.Replace(okScenario, "ports: 1024-1279}", "ports: 1024-1279, allocation: static, ports_per_host: 64}", 1),
		want: []string{"s.yaml:3:71: ", "want ports_per_host at most 23"}},
	{name: "a sysctl value of the wrong type", body: strings.Replace(okScenario, "ports: 1024-1279}", "ports: 1024-1279, sysctls: {net.ipv4.ip_forward: banana}}", 1),
		want: []string{"s.yaml:3:45: ", `net.ipv4.ip_forward = "banana": want 0 or 1`}},
	{name: "a fault sysctl key this kernel lacks", body: okScenario + "faults:\n  - {at: 1s, kind: sysctl, host: nat, set: {net.ipv4.no_such_key: 1}}\n",
		want: []string{"s.yaml:9:45: ", "no such key on this kernel (see /proc/sys/net for valid keys)"}},
	{name: "a concurrency no machine can hold", body: strings.Replace(okScenario, "load: {rate: 10/s}", "load: {concurrency: 1000000000}", 1),
		// The runner spreads a load over agents (and a backend over server
		// processes) of at most 15,000 connections each, so no one process
		// meets the open-file limit: what refuses this is the backends'
		// process count and the memory. The numbers follow the machine.
		want: []string{"s.yaml:7:38: load.concurrency: ", "server processes of at most", "connections to one backend, or spread them over more backends", "MemAvailable"}},
	{name: "a rate no machine can generate", body: strings.Replace(okScenario, "load: {rate: 10/s}", "load: {rate: 1000000000000/s}", 1),
		want: []string{"s.yaml:7:38: load.rate: ", "want at most 1,000,000/s in a phase"}},
	{name: "a --nat-sysctls key outside net.*", body: okScenario, args: []string{"--nat-sysctls", "%dir%/bad.conf"},
		want: []string{"bad.conf:1: ", "only net.* keys"}},
	{name: "a --nat-sysctls value of the wrong type", body: okScenario, args: []string{"--nat-sysctls", "%dir%/banana.conf"},
		want: []string{"banana.conf:2: ", `net.ipv4.ip_forward = "banana": want 0 or 1`}},
	{name: "a standby host behind a linux NAT", body: strings.Replace(okScenario, "clients: {hosts: 1, addresses: 10}",
		"clients: [{name: web, addresses: 10}, {name: more, addresses: 2, standby: true}]", 1),
		want: []string{"s.yaml:4:77: testbed.clients[1].standby: ", "a standby host's VMs get their ports when a vm-start fault starts them, on a gcp-cloud-nat NAT", "profile linux"}},
	{name: "vm-start of a host that runs from the start", body: cloudNATHosts + "faults:\n  - {at: 1s, kind: vm-start, host: nat, client: web}\n",
		want: []string{"s.yaml:9:41: ", "client host web is running from the start: vm-start starts a host marked standby: true"}},
	{name: "vm-stop of a standby host", body: cloudNATHosts + "faults:\n  - {at: 1s, kind: vm-stop, host: nat, client: more}\n",
		want: []string{"s.yaml:9:40: ", "client host more is standby, its VMs have not started: vm-stop stops a running host"}},
	{name: "vm-start of an unknown host", body: cloudNATHosts + "faults:\n  - {at: 1s, kind: vm-start, host: nat, client: mor}\n",
		want: []string{"s.yaml:9:41: ", `unknown client host "mor": client hosts are web, more`}},
}

// cloudNATHosts has a running and a standby client host behind a Cloud NAT.
const cloudNATHosts = `name: t
testbed:
  nat: {profile: gcp-cloud-nat}
  clients: [{name: web, addresses: 10}, {name: more, addresses: 2, standby: true}]
  backends: [{name: api, protocol: http1, port: 8080}]
phases:
  - {name: p1, duration: 20s, load: {client: web, rate: 10/s}}
`

// Every input natlab can judge without a testbed is refused by validate
// and by run alike: exit 2, the position, what would be valid, and nothing
// made: no namespace, no run state, no run directory, the run lock free.
func TestBadInputIsRefusedBeforeAnythingIsBuilt(t *testing.T) {
	requireRoot(t) // run must get as far as it would as root
	for _, tc := range badInputs {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.conf"), []byte("kernel.pid_max = 10\n"), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "banana.conf"), []byte("net.core.somaxconn = 4096\nnet.ipv4.ip_forward = banana\n"), 0o644))
			file := tc.file
			if file == "" {
				file = filepath.Join(dir, "s.yaml")
				require.NoError(t, os.WriteFile(file, []byte(tc.body), 0o644))
			}
			var args []string
			for _, a := range tc.args {
				args = append(args, strings.ReplaceAll(a, "%dir%", dir))
			}
			before := leftovers(t)
			for _, cmd := range []string{"validate", "run"} {
				out := filepath.Join(dir, "run-"+cmd)
				full := append([]string{cmd, file}, args...)
				if cmd == "run" {
					full = append(full, "--out", out)
				}
				code, stdout, stderr := run(t, full...)
				require.Equal(t, ExitInput, code, "%s: %s%s", cmd, stdout, stderr)
				for _, w := range tc.want {
					assert.Contains(t, stderr, w, cmd)
				}
				assert.NoDirExists(t, out, "%s made a run directory", cmd)
				assert.Equal(t, before, leftovers(t), "%s left something behind", cmd)
				assertRunLockFree(t)
			}
		})
	}
}

// leftovers lists natlab's namespaces and run states on this machine.
func leftovers(t *testing.T) []string {
	t.Helper()
	// Only what this process's runs could have left: other packages' tests
	// and other users build and remove testbeds meanwhile, and theirs are
	// recorded with their own process. A run's state exists from before its
	// namespaces until after they are gone, so a namespace of theirs always
	// has their state beside it.
	states, err := testbed.ListStates()
	require.NoError(t, err)
	theirs := map[string]bool{}
	var names []string
	for _, s := range states {
		if s.PID == os.Getpid() {
			names = append(names, "state:"+s.ID)
		} else {
			theirs[s.ID] = true
		}
	}
	all, err := netns.Namespaces("")
	require.NoError(t, err)
	for _, n := range all {
		id, _, _ := strings.Cut(strings.TrimPrefix(n, netns.Prefix), "-")
		if !theirs[id] {
			names = append(names, n)
		}
	}
	return names
}

// assertRunLockFree checks that the run lock was not left held. Another
// process's Claim holds it for a moment (other packages run testbeds at
// the same time), so it is taken with a deadline: a lock left held stays
// held.
func assertRunLockFree(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(testbed.StateDir, ".lock"), os.O_RDWR, 0)
	if os.IsNotExist(err) {
		return
	}
	require.NoError(t, err)
	defer f.Close()
	tt.WaitFor(t, 10*time.Second, func() bool {
		return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
	}, "the run lock is held")
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
