package scenario

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
)

const setBase = `name: s
testbed:
  nat: {ips: 1, ports: 1024-1279}
  clients: {hosts: 1, addresses: 10}
  backends: [{name: api, protocol: http1, port: 8080}]
phases:
  - {name: a, duration: 5s, load: {strategy: http1, rate: 10/s}}
  - {name: b, duration: 5s, load: {strategy: http1, rate: 10/s}}
`

func TestSetOverridesValues(t *testing.T) {
	sc, err := Parse("s.yaml", []byte(setBase), Options{Sets: []string{
		"testbed.nat.ports=1024-2047",
		"phases[1].duration=30s",
		"phases[0].load.rate=200/s",
		"testbed.nat.mode=managed", // a key the file does not have
	}})
	require.NoError(t, err)
	assert.Equal(t, portrange.Range{First: 1024, Last: 2047}, sc.Testbed.NATs[0].Ports)
	assert.Equal(t, "managed", sc.Testbed.NATs[0].Mode)
	assert.Equal(t, 30*time.Second, sc.Phases[1].Duration)
	assert.Equal(t, loadgen.RatePerSecond(200), sc.Phases[0].Loads[0].Schedule.Rate)
}

func TestSetErrors(t *testing.T) {
	_, err := Parse("s.yaml", []byte(setBase), Options{Sets: []string{
		"phases[5].duration=1s",
		"testbed.nope.ips=2",
		"nonsense",
		"phases[0].duration=soon",
	}})
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, "--set phases[5].duration=1s: \"phases\" has 2 items: [5] is out of range")
	assert.Contains(t, msg, "--set testbed.nope.ips=2: \"testbed\" has no key \"nope\"")
	assert.Contains(t, msg, "--set nonsense: want PATH=VALUE")
	// A bad value is reported where the value it replaced stood.
	assert.Regexp(t, `s\.yaml:7:\d+: .*soon`, msg)
}

// A fault's file parameter is relative to the scenario's folder.
func TestFaultFileIsRelativeToTheScenario(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.conf"), []byte("net.ipv4.ip_forward = 0\n"), 0o644))
	scen := filepath.Join(dir, "s.yaml")
	body := setBase + "faults:\n  - {name: f, at: 1s, for: 1s, kind: sysctl, host: nat, file: bad.conf}\n"
	require.NoError(t, os.WriteFile(scen, []byte(body), 0o644))
	var got map[string]any
	cat := catalogFunc(func(kind string, params map[string]any) error { got = params; return nil })
	_, err := Load(scen, Options{Faults: cat})
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "bad.conf"), got["file"])
}

// catalogFunc is a catalog of one kind, sysctl, checked by a function.
type catalogFunc func(kind string, params map[string]any) error

func (catalogFunc) Kinds() []string { return []string{"sysctl"} }
func (f catalogFunc) Build(kind, _ string, _ *testbed.Spec, params map[string]any) (any, error) {
	return kind, f(kind, params)
}

// [*] sets a value in every item of a list: every phase's load at once,
// as `natlab compare --vary phases[*].load.pool=none,keepalive` does.
func TestSetEveryItem(t *testing.T) {
	base := setBase + "  - {name: idle, duration: 2s}\n"
	sc, err := Parse("s.yaml", []byte(base), Options{Sets: []string{
		"phases[*].load.pool=keepalive",
		"phases[*].load.pool_size=8",
		"phases[*].duration=7s",
	}})
	require.NoError(t, err)
	require.Len(t, sc.Phases, 3)
	for _, ph := range sc.Phases[:2] {
		require.Len(t, ph.Loads, 1, ph.Name)
		assert.Equal(t, loadgen.PoolKeepAlive, ph.Loads[0].Strategy.Pool, ph.Name)
		assert.Equal(t, 8, ph.Loads[0].Strategy.PoolSize, ph.Name)
	}
	assert.Empty(t, sc.Phases[2].Loads, "the idle phase has no load to set and gets none")
	for _, ph := range sc.Phases {
		assert.Equal(t, 7*time.Second, ph.Duration, ph.Name)
	}

	_, err = Parse("s.yaml", []byte(setBase), Options{Sets: []string{
		"phases[*].nope.pool=none",
		"testbed[*].x=1",
		"phases[*].load.rate=fast",
	}})
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, `--set phases[*].nope.pool=none: no item of "phases" takes the value`)
	assert.Contains(t, msg, `--set testbed[*].x=1: "testbed" is not a list`)
	// A bad value is reported at each place it replaced.
	assert.Regexp(t, `s\.yaml:7:\d+: .*fast`, msg)
	assert.Regexp(t, `s\.yaml:8:\d+: .*fast`, msg)
}
