package scenario

import (
	"errors"
	"os"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natcfg"
	"github.com/natlab/natlab/testbed/service"
)

func TestParseFull(t *testing.T) {
	s, err := Load("testdata/full.yaml", Options{Faults: testCatalog{}})
	require.NoError(t, err)

	assert.Equal(t, "pools-and-faults", s.Name)
	assert.Equal(t, "testdata/full.yaml", s.File)
	assert.Equal(t, 500*time.Millisecond, s.Tick)
	assert.Equal(t, 65*time.Second, s.Duration())

	nat := s.Testbed.NATs[0]
	assert.Equal(t, "edge", nat.Name)
	assert.Equal(t, 3, nat.IPs)
	assert.Equal(t, natcfg.PortRange{First: 1024, Last: 1279}, nat.Ports)
	assert.Equal(t, testbed.ModeManaged, nat.Mode)
	assert.Equal(t, 30*time.Second, nat.Hold)
	assert.Equal(t, natcfg.PortSelectionFullyRandom, nat.PortSelection)
	assert.Equal(t, testbed.AllocShared, nat.Allocation)
	assert.Equal(t, []testbed.PoolSpec{
		{Name: "web-pool", IPs: 2, Blocks: []string{"web"}},
		{Name: "batch-pool", IPs: 1, Blocks: []string{"batch"}},
	}, nat.Pools)
	// The file's sysctls come first, so the inline ones win when applied in order.
	assert.Equal(t, []natcfg.Sysctl{
		{Key: "net.netfilter.nf_conntrack_tcp_timeout_time_wait", Value: "120", Line: 2},
		{Key: "net.netfilter.nf_conntrack_udp_timeout", Value: "30", Line: 3, IgnoreError: true},
		{Key: "net.netfilter.nf_conntrack_tcp_loose", Value: "0", Line: 14},
	}, nat.Sysctls)
	assert.Equal(t, []testbed.BlockSpec{{Name: "web", NAT: "edge"}, {Name: "batch", NAT: "edge"}}, s.Testbed.Blocks)
	assert.Equal(t, []testbed.ClientSpec{
		{Name: "web1", Block: "web", Addresses: 200},
		{Name: "batch1", Block: "batch", Addresses: 1},
	}, s.Testbed.Clients)
	assert.Equal(t, []testbed.BackendSpec{
		{Name: "api", Protocol: service.HTTP1, Port: 8080, Extra: []testbed.BackendListener{{Protocol: service.UDPEcho, Port: 5353}}},
		{Name: "reg", Protocol: service.Registrar, Port: 9000},
	}, s.Testbed.Backends)

	require.Len(t, s.Phases, 4)
	warm := s.Phases[0]
	assert.Equal(t, "warm", warm.Name)
	assert.Equal(t, 10*time.Second, warm.Duration)
	assert.Equal(t, Pos{Line: 29, Col: 5}, warm.Pos)
	require.Len(t, warm.Loads, 2)
	assert.Equal(t, LoadSpec{
		Client: "web1", Target: "api", Port: 8080,
		Strategy: loadgen.Strategy{Kind: loadgen.KindHTTP1, Pool: loadgen.PoolKeepAlive, PoolSize: 8, IdleTimeout: 30 * time.Second},
		Schedule: loadgen.Schedule{Kind: loadgen.ScheduleClosed, Concurrency: 4},
		Pos:      Pos{Line: 32, Col: 9},
	}, warm.Loads[0])
	// No strategy: it follows the protocol of the target listener.
	assert.Equal(t, LoadSpec{
		Client: "batch1", Target: "api", Port: 5353,
		Strategy: loadgen.Strategy{Kind: loadgen.KindUDP, Payload: 64},
		Schedule: loadgen.Schedule{Kind: loadgen.ScheduleRamp, From: loadgen.RatePerSecond(10), To: loadgen.RatePerSecond(200)},
		Pos:      Pos{Line: 33, Col: 9},
	}, warm.Loads[1])
	burst := s.Phases[1].Loads[0]
	assert.Equal(t, "", burst.Client, "no client means every client host")
	assert.Equal(t, "reg", burst.Target)
	assert.Equal(t, loadgen.KindHTTP1, burst.Strategy.Kind)
	assert.Equal(t, "/register", burst.Strategy.Path)
	assert.Equal(t, 2*time.Second, burst.ConnectTimeout)
	assert.Equal(t, loadgen.Schedule{Kind: loadgen.ScheduleSpike, Rate: loadgen.RatePerSecond(50),
		SpikeRate: loadgen.RatePerSecond(1000), SpikeAt: 5 * time.Second, SpikeFor: 3 * time.Second}, burst.Schedule)
	assert.Equal(t, loadgen.Schedule{Kind: loadgen.ScheduleHold, Hold: 300}, s.Phases[2].Loads[0].Schedule)
	assert.Empty(t, s.Phases[3].Loads, "a phase without load is idle")
	start, ok := s.PhaseStart("soak")
	assert.True(t, ok)
	assert.Equal(t, 30*time.Second, start)

	// The loadgen plan of a load is valid once the runner adds the target.
	plan := burst.Plan("burst", s.Phases[1].Duration, s.Tick)
	plan.Target = "198.19.0.130:9000"
	require.NoError(t, plan.Validate())

	// Each fault is built once, by the catalog, and kept for the runner.
	require.Len(t, s.Faults, 2)
	assert.Equal(t, &testFault{kind: "conntrack-flush"}, s.Faults[0].Built)
	assert.Equal(t, &testFault{kind: "sysctl", touches: []string{"sysctl net.ipv4.ip_forward"}}, s.Faults[1].Built)
	for i := range s.Faults {
		s.Faults[i].Built = nil
	}
	assert.Equal(t, []Fault{
		{Name: "flush", At: 12 * time.Second, Kind: "conntrack-flush", Host: "edge", Params: map[string]any{}, Pos: Pos{43, 5}},
		{Name: "faults[1]", At: 40 * time.Second, For: 5 * time.Second, Kind: "sysctl", Host: "edge",
			Params: map[string]any{"set": map[string]any{"net.ipv4.ip_forward": 0}}, Pos: Pos{44, 5}},
	}, s.Faults)
	assert.Equal(t, []Alarm{
		{Name: "ports-high", Metric: "nat.port_utilization", Above: true, Threshold: 0.8, For: 2 * time.Second, Pos: Pos{46, 5}},
		{Name: "slow", Metric: "connect.p99", Above: true, Threshold: float64(250 * time.Millisecond), Pos: Pos{47, 5}},
	}, s.Alarms)

	require.Len(t, s.Asserts, 6)
	a := s.Asserts
	assert.Equal(t, "warm: error_rate < 0.1%", a[0].Name)
	assert.Equal(t, "warm", a[0].Phase)
	assert.Equal(t, "error_rate", a[0].Expect.Metric)
	assert.Equal(t, "<", a[0].Expect.Op)
	assert.InDelta(t, 0.001, a[0].Expect.Value, 1e-12)
	assert.Equal(t, "failures seen", a[1].Name)
	assert.Equal(t, float64(300*time.Millisecond), a[2].Expect.Value, "a bare latency is in milliseconds")
	assert.Equal(t, "backend.reg.registrations_failed_closed", a[3].Expect.Metric)
	assert.Equal(t, 1.0, a[4].Expect.Value)
	assert.Equal(t, &Recovery{After: "faults[1]", Within: 5 * time.Second, Window: 2 * time.Second}, a[5].Recovery)
	assert.Equal(t, "error_rate < 1%", a[5].Expect.Text)
	assert.Equal(t, Pos{Line: 55, Col: 5}, a[5].Pos)
}

func TestParseDefaults(t *testing.T) {
	s, err := Load("testdata/minimal.yaml", Options{})
	require.NoError(t, err)
	assert.Equal(t, "minimal", s.Name, "the name defaults to the file name")
	assert.Equal(t, loadgen.DefaultTick, s.Tick)
	nat := s.Testbed.NATs[0]
	assert.Equal(t, "nat", nat.Name)
	assert.Equal(t, testbed.ModeLinux, nat.Mode)
	assert.Equal(t, natcfg.PortRange{First: 1024, Last: 65535}, nat.Ports)
	assert.Equal(t, []testbed.ClientSpec{{Name: "client", Block: testbed.DefaultBlock, Addresses: 10}}, s.Testbed.Clients)
	l := s.Phases[0].Loads[0]
	assert.Equal(t, "api", l.Target, "the first backend is the default target")
	assert.Equal(t, uint16(7), l.Port)
	assert.Equal(t, loadgen.KindTCP, l.Strategy.Kind, "a tcp-echo backend is talked to with tcp")
	assert.Equal(t, loadgen.Schedule{Kind: loadgen.ScheduleOpen, Rate: loadgen.RatePerSecond(20)}, l.Schedule)
}

func TestParseClientsShorthand(t *testing.T) {
	src := `
testbed:
  nat: {ips: 2, mode: managed}
  clients: {hosts: 3, addresses: 50}
  backends: [{name: api, protocol: h2c, port: 8443}]
phases:
  - {name: p, duration: 1s, load: {client: client3, concurrency: 2}}
`
	s, err := Parse("short.yaml", []byte(src), Options{})
	require.NoError(t, err)
	assert.Equal(t, []testbed.ClientSpec{
		{Name: "client", Block: "clients", Addresses: 50},
		{Name: "client2", Block: "clients", Addresses: 50},
		{Name: "client3", Block: "clients", Addresses: 50},
	}, s.Testbed.Clients)
	assert.Equal(t, testbed.DefaultHold, s.Testbed.NATs[0].Hold, "managed mode holds ports 120s by default")
	assert.Equal(t, loadgen.KindH2C, s.Phases[0].Loads[0].Strategy.Kind)
}

func TestLoadErrors(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml", Options{})
	require.Error(t, err)
	assert.ErrorIs(t, err, os.ErrNotExist)
	var list *Errors
	assert.False(t, errors.As(err, &list), "an unreadable file is not a problem in the file")

	// A relative file that is missing is a problem at the key naming it.
	src := "testbed:\n  nat: {sysctls_file: nope.conf}\n  clients: {}\n  backends: [{name: api, protocol: http1, port: 80}]\nphases: [{name: p, duration: 1s, load: {rate: 1/s}}]\n"
	_, err = Parse("x/s.yaml", []byte(src), Options{FS: os.DirFS("testdata")})
	require.ErrorAs(t, err, &list)
	require.Len(t, list.List, 1)
	assert.Equal(t, Error{File: "x/s.yaml", Line: 2, Col: 23, Msg: "testbed.nat.sysctls_file: open x/nope.conf: no such file or directory"}, list.List[0])
}

func TestParseBrokenSysctlFile(t *testing.T) {
	fsys := fstest.MapFS{"profiles/bad.conf": {Data: []byte("net.ipv4.ip_forward = 1\nnot an assignment\n")}}
	src := "testbed:\n  nat: {sysctls_file: profiles/bad.conf}\n  clients: {}\n  backends: [{name: api, protocol: http1, port: 80}]\nphases: [{name: p, duration: 1s, load: {rate: 1/s}}]\n"
	_, err := Parse("s.yaml", []byte(src), Options{FS: fsys})
	require.EqualError(t, err, `s.yaml:2:23: testbed.nat.sysctls_file: profiles/bad.conf:2: "not an assignment" has no '=', want key = value`)
	_, err = Parse("s.yaml", []byte(src), Options{})
	require.EqualError(t, err, `s.yaml:2:23: testbed.nat.sysctls_file "profiles/bad.conf": no folder to read it from (parse with a file system, or load the scenario from a file)`)
}

func TestAlarmBreached(t *testing.T) {
	above := Alarm{Above: true, Threshold: 0.8}
	below := Alarm{Threshold: 10}
	assert.True(t, above.Breached(0.81))
	assert.False(t, above.Breached(0.8))
	assert.True(t, below.Breached(9))
	assert.False(t, below.Breached(10))
}

func TestErrorsFormat(t *testing.T) {
	e := &Errors{List: []Error{{File: "a.yaml", Line: 3, Col: 7, Msg: "bad"}, {File: "a.yaml", Line: 9, Col: 1, Msg: "worse"}}}
	assert.Equal(t, "a.yaml:3:7: bad\na.yaml:9:1: worse", e.Error())
	var one Error
	assert.True(t, errors.As(e, &one))
	assert.Equal(t, "bad", one.Msg)
}
