package natcfg

import (
	"strings"
	"testing"
)

func TestValidateSysctlKey(t *testing.T) {
	for _, tc := range []struct {
		key, want string
	}{
		{"kernel.pid_max", "only net.* keys"},
		{"net.ipv4.nope", "no such key"},
		{"net.ipv4..ip_forward", "malformed"},
		{"net/../kernel/pid_max", "malformed"},
		{"net.ipv4", "group of keys"},
		{"net.ipv4.ip_forward", ""},
		{"net/ipv4/ip_forward", ""},
	} {
		err := ValidateSysctlKey(tc.key)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want ok", tc.key, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want error containing %q", tc.key, err, tc.want)
		}
	}
}

func TestParseSysctlConf(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []Sysctl
		errs     []string
	}{
		{name: "ok", in: "# comment\n; other comment\n\nnet.ipv4.ip_forward = 1\n  -net.ipv4.tcp_fin_timeout=30  \nnet.core.somaxconn =  4096 # not a comment\n",
			want: []Sysctl{
				{Key: "net.ipv4.ip_forward", Value: "1", Line: 4},
				{Key: "net.ipv4.tcp_fin_timeout", Value: "30", Line: 5, IgnoreError: true},
				{Key: "net.core.somaxconn", Value: "4096 # not a comment", Line: 6},
			}},
		{name: "empty value", in: "net.x =\n", want: []Sysctl{{Key: "net.x", Value: "", Line: 1}}},
		{name: "errors", in: "net.ipv4.ip_forward 1\n= 3\nnet.ok = 1\nnet a = 2\n",
			errs: []string{"prof.conf:1: ", "prof.conf:2: empty key", "prof.conf:4: key \"net a\""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSysctlConf(strings.NewReader(tc.in), "prof.conf")
			if len(tc.errs) > 0 {
				if err == nil {
					t.Fatalf("no error, want %v", tc.errs)
				}
				for _, e := range tc.errs {
					if !strings.Contains(err.Error(), e) {
						t.Errorf("error %q lacks %q", err, e)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("entry %d: %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// Values are checked by the shape of their key: known keys by a table,
// others by the shape of their current value on this kernel.
func TestValidateSysctlValue(t *testing.T) {
	for _, tc := range []struct {
		key, value, want string
	}{
		{"net.ipv4.ip_forward", "0", ""},
		{"net.ipv4.ip_forward", " 1 ", ""},
		{"net.ipv4.ip_forward", "banana", `sysctl net.ipv4.ip_forward = "banana": want 0 or 1 (a switch)`},
		{"net.ipv4.ip_forward", "2", "want 0 or 1"},
		{"net/ipv4/ip_forward", "yes", "want 0 or 1"},
		{"net.ipv4.conf.all.forwarding", "on", "want 0 or 1"},
		{"net.netfilter.nf_conntrack_tcp_loose", "true", "want 0 or 1"},
		{"net.netfilter.nf_conntrack_tcp_timeout_time_wait", "120", ""},
		{"net.netfilter.nf_conntrack_tcp_timeout_time_wait", "2m", "want a whole number of seconds"},
		{"net.netfilter.nf_conntrack_udp_timeout", "1.5", "want a whole number of seconds"},
		{"net.core.somaxconn", "4096 # not a comment", "want a whole number (a count)"},
		{"net.ipv4.ip_local_port_range", "32768 60999", ""},
		{"net.ipv4.ip_local_port_range", "40000", "two ports separated by a space"},
		{"net.ipv4.ip_local_port_range", "60000 40000", "first <= last"},
		{"net.ipv4.ip_local_port_range", "0 70000", "each 1-65535"},
		{"net.ipv4.tcp_rmem", "4096 87380 6291456", ""},
		{"net.ipv4.tcp_rmem", "4096", "3 whole numbers"},
		// Not in the table: the current value says it is a number.
		{"net.ipv4.tcp_syn_retries", "6", ""},
		{"net.ipv4.tcp_syn_retries", "many", `want a whole number, as its current value`},
		// Text values take anything.
		{"net.ipv4.tcp_congestion_control", "cubic", ""},
		{"net.ipv4.no_such_key", "x", ""},
	} {
		err := ValidateSysctlValue(tc.key, tc.value)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s = %q: %v, want ok", tc.key, tc.value, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s = %q: %v, want error containing %q", tc.key, tc.value, err, tc.want)
		}
	}
}
