package natcfg

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParsePortRange(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want PortRange
		err  string
	}{
		{in: "1024-1279", want: PortRange{1024, 1279}},
		{in: " 80 ", want: PortRange{80, 80}},
		{in: "1-65535", want: PortRange{1, 65535}},
		{in: "", err: "empty"},
		{in: "0-10", err: "not a port"},
		{in: "10-70000", err: "not a port"},
		{in: "2000-1000", err: "first port is above last"},
		{in: "a-b", err: "not a port"},
	} {
		got, err := ParsePortRange(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want error containing %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %v %v, want %v", tc.in, got, err, tc.want)
		}
	}
	if r := (PortRange{1024, 1279}); r.Size() != 256 || r.String() != "1024-1279" {
		t.Errorf("size %d string %q", r.Size(), r.String())
	}
	if (PortRange{5, 4}).Size() != 0 {
		t.Error("inverted range has a size")
	}
}

func addrs(s ...string) []netip.Addr {
	out := make([]netip.Addr, len(s))
	for i, x := range s {
		out[i] = netip.MustParseAddr(x)
	}
	return out
}

func TestConfigValidate(t *testing.T) {
	good := onePool(ports256, natIP1)
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	bad := Config{
		WAN:           "",
		PortSelection: "sometimes",
		Hold:          -time.Second,
		ConnLimit:     -1,
		Pools: []Pool{
			{Name: "a", Sources: []netip.Prefix{blockA}, IPs: addrs("198.19.200.1"), Ports: PortRange{1024, 1279},
				Slices: []Slice{
					{Source: clientA, IP: natIP1, Ports: PortRange{1024, 1100}},
					{Source: netip.MustParseAddr("198.18.200.3"), IP: natIP1, Ports: PortRange{1100, 1200}},
					{Source: netip.MustParseAddr("198.18.200.4"), IP: natIP1, Ports: PortRange{1200, 1300}},
					{Source: netip.MustParseAddr("198.18.9.9"), IP: natIP2, Ports: PortRange{1024, 1030}},
				}},
			{Name: "a", Sources: []netip.Prefix{netip.MustParsePrefix("198.18.0.0/16")}, IPs: addrs("198.19.200.1"), Ports: PortRange{2000, 1000}},
			{Name: "", Sources: nil, IPs: nil},
		},
	}
	err := bad.Validate()
	if err == nil {
		t.Fatal("bad config validated")
	}
	for _, want := range []string{
		"wan: interface name is empty",
		`port selection "sometimes"`,
		"hold -1s",
		"conn limit -1",
		`pool 1 "a": name used by another pool`,
		"slice 1 (198.18.200.3): ports 1100-1200 on 198.19.200.1 overlap slice 0",
		"slice 2 (198.18.200.4): ports 1200-1300 are outside the pool range 1024-1279",
		"slice 3 (198.18.9.9): source is outside the pool's sources",
		"slice 3 (198.18.9.9): NAT IP 198.19.200.2 is not one of the pool's IPs",
		"first port is above last port",
		"NAT IP 198.19.200.1 is also in pool 0",
		"source 198.18.0.0/16 overlaps 198.18.200.0/24",
		`pool 2: name is empty`,
		`pool 2 "": no sources`,
		`pool 2 "": no NAT IPs`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("validation error lacks %q; got:\n%v", want, err)
		}
	}
	if err := (Config{WAN: "wan0"}).Validate(); err == nil || !strings.Contains(err.Error(), "no pools") && !strings.Contains(err.Error(), "none given") {
		t.Errorf("no pools: %v", err)
	}
}

func TestStaticSlices(t *testing.T) {
	srcs := addrs("198.18.200.2", "198.18.200.3", "198.18.200.4", "198.18.200.5", "198.18.200.6")
	got, err := StaticSlices(srcs, addrs("198.19.200.1", "198.19.200.2", "198.19.200.3"), PortRange{1024, 1279}, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []Slice{
		{srcs[0], natIP1, PortRange{1024, 1123}},
		{srcs[1], natIP1, PortRange{1124, 1223}},
		{srcs[2], natIP2, PortRange{1024, 1123}},
		{srcs[3], natIP2, PortRange{1124, 1223}},
	}
	if len(got) != 5 {
		t.Fatalf("got %d slices", len(got))
	}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("slice %d: %+v, want %+v", i, got[i], w)
		}
	}
	// The slices form a valid config.
	cfg := Config{WAN: "wan0", Pools: []Pool{{Name: "s", Sources: []netip.Prefix{blockA}, IPs: addrs("198.19.200.1", "198.19.200.2", "198.19.200.3"), Ports: PortRange{1024, 1279}, Slices: got}}}
	if err := cfg.Validate(); err != nil {
		t.Errorf("config with computed slices: %v", err)
	}

	many := make([]netip.Addr, 500)
	for i := range many {
		many[i] = netip.AddrFrom4([4]byte{198, 18, byte(i / 250), byte(i%250 + 1)})
	}
	_, err = StaticSlices(many, addrs("198.19.200.1"), PortRange{1024, 1279}, 64)
	if err == nil || !strings.Contains(err.Error(), "500 hosts x 64 ports need 32000 ports; 1 NAT IP x 256 ports = 256 (room for 4 hosts)") {
		t.Errorf("too many hosts: %v", err)
	}
	for _, tc := range []struct {
		per  int
		ips  []netip.Addr
		want string
	}{
		{0, addrs("198.19.200.1"), "must be positive"},
		{300, addrs("198.19.200.1"), "exceed the range"},
		{10, nil, "no NAT IPs"},
	} {
		if _, err := StaticSlices(srcs, tc.ips, PortRange{1024, 1279}, tc.per); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("per host %d: %v, want %q", tc.per, err, tc.want)
		}
	}
}
