package natcfg

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/natlab/natlab/internal/portrange"
)

func TestPowersOfTwo(t *testing.T) {
	for _, tc := range []struct{ n, ceil, floor int }{{1, 1, 1}, {2, 2, 2}, {3, 4, 2}, {50, 64, 32}, {64, 64, 64}, {64512, 65536, 32768}} {
		if c, f := CeilPowerOfTwo(tc.n), FloorPowerOfTwo(tc.n); c != tc.ceil || f != tc.floor {
			t.Errorf("%d: ceil %d floor %d, want %d %d", tc.n, c, f, tc.ceil, tc.floor)
		}
	}
	if IsPowerOfTwo(0) || IsPowerOfTwo(48) || !IsPowerOfTwo(32) {
		t.Error("IsPowerOfTwo")
	}
}

func vmAddrs(n int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = netip.AddrFrom4([4]byte{198, 18, 200, byte(10 + i)})
	}
	return out
}

// Blocks sit on slot boundaries; the slot is as wide as every VM allows,
// capped by the max; VMs fill one NAT IP before the next.
func TestGCPLayout(t *testing.T) {
	r := portrange.Range{First: 1024, Last: 1279} // 256 ports
	b, slot, err := GCPLayout(vmAddrs(3), []netip.Addr{natIP1}, r, 32, 256)
	if err != nil || slot != 64 {
		t.Fatalf("slot %d err %v, want 64: 3 VMs fit 256 ports in 64-port slots", slot, err)
	}
	for i, want := range []uint16{1024, 1088, 1152} {
		if b[i].Ports.First != want || b[i].Ports.Size() != 32 || b[i].IP != natIP1 {
			t.Errorf("block %d: %+v, want 32 ports from %d", i, b[i], want)
		}
	}
	b, slot, err = GCPLayout(vmAddrs(10), []netip.Addr{natIP1, natIP2}, r, 32, 32)
	if err != nil || slot != 32 || b[7].IP != natIP1 || b[8].IP != natIP2 || b[8].Ports.First != 1024 {
		t.Fatalf("two IPs: slot %d err %v blocks %+v", slot, err, b)
	}
	if _, _, err := GCPLayout(vmAddrs(17), []netip.Addr{natIP1, natIP2}, r, 32, 64); err == nil || !strings.Contains(err.Error(), "hold 16 VMs") {
		t.Errorf("17 VMs in 2x8 blocks: %v", err)
	}
}

func TestGCPConfigValidate(t *testing.T) {
	vms := vmAddrs(2)
	blocks, _, err := GCPLayout(vms, []netip.Addr{natIP1}, portrange.Range{First: 1024, Last: 65535}, 64, 128)
	if err != nil {
		t.Fatal(err)
	}
	good := Config{WAN: "wan0", Hold: 2 * time.Second, Profile: ProfileGCPCloudNAT,
		Pools: []Pool{{Name: "gcp", Sources: []netip.Prefix{blockA}, IPs: []netip.Addr{natIP1}, Ports: portrange.Range{First: 1024, Last: 65535}, Slices: blocks}},
		GCP:   &GCPConfig{MinPorts: 64, MaxPorts: 128, DynamicPortAllocation: true, EstablishedIdle: time.Minute, TransitoryIdle: time.Second, UDPIdle: time.Second}}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for name, mutate := range map[string]func(c *Config){
		"no settings":     func(c *Config) { c.GCP = nil },
		"max without dpa": func(c *Config) { g := *c.GCP; g.DynamicPortAllocation = false; c.GCP = &g },
		"no hold":         func(c *Config) { c.Hold = 0 },
		"eim with dpa":    func(c *Config) { g := *c.GCP; g.EndpointIndependentMapping = true; c.GCP = &g },
		"unaligned block": func(c *Config) {
			p := c.Pools[0]
			p.Slices = append([]Slice(nil), p.Slices...)
			p.Slices[1].Ports = portrange.Range{First: 1100, Last: 1163}
			c.Pools = []Pool{p}
		},
		"unknown profile":   func(c *Config) { c.Profile = "aws-nat-gateway" },
		"settings on linux": func(c *Config) { c.Profile = ProfileLinux },
	} {
		c := good
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
