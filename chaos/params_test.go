package chaos_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/chaos"
)

// Every kind validates its params and reports every problem at once,
// saying what would be valid.
func TestValidateParams(t *testing.T) {
	cases := []struct {
		kind   string
		params map[string]any
		errs   []string // substrings; none means valid
	}{
		{"sysctl", map[string]any{"set": map[string]any{"net.ipv4.ip_forward": 0}}, nil},
		{"sysctl", map[string]any{"set": map[string]any{"net.ipv4.tcp_rmem": "4096 87380 6291456", "net.ipv4.ip_forward": true}}, nil},
		{"sysctl", map[string]any{}, []string{"give either set"}},
		{"sysctl", map[string]any{"set": map[string]any{"kernel.pid_max": 5, "net..x": 1, "net.ipv4.ip_forward": []any{1}}, "bogus": 1},
			[]string{"only net.* keys", "malformed key", "want a number or a string, got a list", "bogus: unknown parameter, valid ones are: set, file"}},
		{"sysctl", map[string]any{"file": "/nonexistent/x.conf"}, []string{"file: open /nonexistent/x.conf"}},
		{"conntrack-flush", nil, nil},
		{"conntrack-flush", map[string]any{"origin": "198.18.0.0/24", "destination": "api", "port": 8080, "protocol": "tcp"}, nil},
		{"conntrack-flush", map[string]any{"port": 70000, "protocol": "icmp"}, []string{"port: 70000 is out of range, want 1-65535", `protocol: "icmp" is not valid, want one of: tcp, udp`}},
		{"snat", map[string]any{"ports": "1024-1087"}, nil},
		{"snat", map[string]any{"ips": 2, "split": "per-block", "port_selection": "fully-random"}, nil},
		{"snat", map[string]any{}, []string{"no change given"}},
		{"snat", map[string]any{"ports": "2000-1000", "ips": 0, "split": "per-host", "port_selection": "sequential"},
			[]string{"first port is above last port", "ips: 0 is out of range", `split: "per-host" is not valid, want one of: per-block`, "want one of: default, random, fully-random"}},
		{"conntrack-timeouts", map[string]any{"tcp_time_wait": "30s", "udp": 10}, nil},
		{"conntrack-timeouts", map[string]any{"tcp_time_wait": "1.5s", "udp": "soon", "tcp_wait": 3},
			[]string{"not a whole number of seconds", `"soon": want a duration`, "tcp_wait: unknown parameter, valid ones are: generic, icmp, tcp_close"}},
		{"conntrack-timeouts", map[string]any{}, []string{"no timeout given"}},
		{"link", map[string]any{"interface": "wan0"}, nil},
		{"link", map[string]any{"iface": "wan0"}, []string{"iface: unknown parameter, valid ones are: interface"}},
		{"drop", map[string]any{"percent": 30}, nil},
		{"drop", map[string]any{"blackhole": "api"}, nil},
		{"drop", map[string]any{"percent": 130, "blackhole": "api"}, []string{"not both or neither", "percent: 130 is out of range, want 1-100"}},
		{"drop", map[string]any{"percent": 12.5}, []string{"12.5: want a whole number"}},
		{"kill", nil, nil},
		{"kill", map[string]any{"signal": 9}, []string{"signal: unknown parameter"}},
		{"restart", nil, nil},
		{"saturate", map[string]any{"limit": 1, "latency": "2s"}, nil},
		{"saturate", map[string]any{"latency": -1}, []string{"limit: required", "latency: -1s is too short, want at least 0s"}},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			err := chaos.Catalog{}.Validate(tc.kind, tc.params)
			if len(tc.errs) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, want := range tc.errs {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestCatalog(t *testing.T) {
	names := chaos.Catalog{}.Kinds()
	assert.Equal(t, []string{"conntrack-flush", "conntrack-timeouts", "drop", "kill", "link", "restart", "saturate", "snat", "sysctl"}, names)
	err := chaos.Catalog{}.Validate("flood", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown fault kind "flood", valid kinds: conntrack-flush, conntrack-timeouts, drop`)
	for _, k := range chaos.Kinds() {
		assert.NotEmpty(t, k.Summary, k.Name)
		got, ok := chaos.Lookup(k.Name)
		assert.True(t, ok)
		assert.Equal(t, k.Name, got.Name)
	}
	_, ok := chaos.Lookup("nope")
	assert.False(t, ok)
}
