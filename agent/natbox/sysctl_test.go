package natbox

import (
	"strings"
	"testing"
)

func TestSysctlInNamespace(t *testing.T) {
	tp := newTopo(t)
	const key = "net.netfilter.nf_conntrack_tcp_timeout_time_wait"
	must(t, inNS(tp.nat, func() error {
		orig, err := GetSysctl(key)
		if err != nil {
			return err
		}
		old, err := SetSysctl(key, "33")
		if err != nil {
			return err
		}
		if old != orig {
			t.Errorf("SetSysctl returned old %q, want %q", old, orig)
		}
		if v, _ := GetSysctl(key); v != "33" {
			t.Errorf("after set: %q, want 33", v)
		}
		// The change stays inside the NAT namespace.
		if err := inNS(tp.client, func() error {
			v, err := GetSysctl(key)
			if err == nil && v == "33" {
				t.Errorf("client ns sees %s = 33 set in the NAT ns", key)
			}
			return err
		}); err != nil {
			return err
		}
		if _, err := SetSysctl(key, orig); err != nil {
			return err
		}
		if v, _ := GetSysctl(key); v != orig {
			t.Errorf("after restore: %q, want %q", v, orig)
		}
		_, err = SetSysctl("net.netfilter.nf_conntrack_max", "10")
		if err == nil || !strings.Contains(err.Error(), "read-only") {
			t.Errorf("set nf_conntrack_max in a child netns: %v, want a read-only error", err)
		}
		return nil
	}), "sysctls in nat ns")
}

// SetSysctl goes through key validation: a key outside net.* is refused
// before anything is written. The key does not exist, so a regression
// cannot change the host either.
func TestSetSysctlRefusesNonNetKeys(t *testing.T) {
	_, err := SetSysctl("kernel.natlab_no_such_key", "1")
	if err == nil || !strings.Contains(err.Error(), "only net.* keys") {
		t.Fatalf("SetSysctl(kernel.natlab_no_such_key) = %v, want the net.* refusal", err)
	}
}
