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
