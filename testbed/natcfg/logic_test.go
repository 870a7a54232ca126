package natcfg

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/natlab/natlab/internal/portrange"
)

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
			{Name: "a", Sources: []netip.Prefix{blockA}, IPs: addrs("198.19.200.1"), Ports: portrange.Range{First: 1024, Last: 1279},
				Slices: []Slice{
					{Source: clientA, IP: natIP1, Ports: portrange.Range{First: 1024, Last: 1100}},
					{Source: netip.MustParseAddr("198.18.200.3"), IP: natIP1, Ports: portrange.Range{First: 1100, Last: 1200}},
					{Source: netip.MustParseAddr("198.18.200.4"), IP: natIP1, Ports: portrange.Range{First: 1200, Last: 1300}},
					{Source: netip.MustParseAddr("198.18.9.9"), IP: natIP2, Ports: portrange.Range{First: 1024, Last: 1030}},
				}},
			{Name: "a", Sources: []netip.Prefix{netip.MustParsePrefix("198.18.0.0/16")}, IPs: addrs("198.19.200.1"), Ports: portrange.Range{First: 2000, Last: 1000}},
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
		"the range is empty: first port",
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
	got, err := StaticSlices(srcs, addrs("198.19.200.1", "198.19.200.2", "198.19.200.3"), portrange.Range{First: 1024, Last: 1279}, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []Slice{
		{srcs[0], natIP1, portrange.Range{First: 1024, Last: 1123}},
		{srcs[1], natIP1, portrange.Range{First: 1124, Last: 1223}},
		{srcs[2], natIP2, portrange.Range{First: 1024, Last: 1123}},
		{srcs[3], natIP2, portrange.Range{First: 1124, Last: 1223}},
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
	cfg := Config{WAN: "wan0", Pools: []Pool{{Name: "s", Sources: []netip.Prefix{blockA}, IPs: addrs("198.19.200.1", "198.19.200.2", "198.19.200.3"), Ports: portrange.Range{First: 1024, Last: 1279}, Slices: got}}}
	if err := cfg.Validate(); err != nil {
		t.Errorf("config with computed slices: %v", err)
	}

	many := make([]netip.Addr, 500)
	for i := range many {
		many[i] = netip.AddrFrom4([4]byte{198, 18, byte(i / 250), byte(i%250 + 1)})
	}
	_, err = StaticSlices(many, addrs("198.19.200.1"), portrange.Range{First: 1024, Last: 1279}, 64)
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
		if _, err := StaticSlices(srcs, tc.ips, portrange.Range{First: 1024, Last: 1279}, tc.per); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("per host %d: %v, want %q", tc.per, err, tc.want)
		}
	}
}
