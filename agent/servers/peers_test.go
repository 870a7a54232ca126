package servers

import (
	"fmt"
	"net/netip"
	"reflect"
	"testing"

	"github.com/natlab/natlab/testbed/service"
)

func TestPeerSummary(t *testing.T) {
	many := make([]string, 0, 70)
	for i := range 70 {
		many = append(many, fmt.Sprintf("198.18.0.%d:%d", i+1, 1024+i))
	}
	tests := []struct {
		name string
		add  []string
		want service.PeerSummary
	}{
		{"none", nil, service.PeerSummary{}},
		{"one", []string{"198.19.0.1:1025"}, service.PeerSummary{Distinct: 1, IPs: []string{"198.19.0.1"}, MinPort: 1025, MaxPort: 1025}},
		{
			"same ip many ports, sorted ips",
			[]string{"198.19.0.2:40000", "198.19.0.1:1024", "198.19.0.2:1279", "198.19.0.1:2000"},
			service.PeerSummary{Distinct: 2, IPs: []string{"198.19.0.1", "198.19.0.2"}, MinPort: 1024, MaxPort: 40000},
		},
		{
			"v4-mapped counts as v4",
			[]string{"[::ffff:198.19.0.1]:5000", "198.19.0.1:6000"},
			service.PeerSummary{Distinct: 1, IPs: []string{"198.19.0.1"}, MinPort: 5000, MaxPort: 6000},
		},
		{"port zero is a port", []string{"198.19.0.1:7", "198.19.0.1:0"}, service.PeerSummary{Distinct: 1, IPs: []string{"198.19.0.1"}, MinPort: 0, MaxPort: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p peerSet
			for _, a := range tt.add {
				p.add(netip.MustParseAddrPort(a))
			}
			if got := p.summary(); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("summary = %+v, want %+v", got, tt.want)
			}
		})
	}
	t.Run("capped list", func(t *testing.T) {
		var p peerSet
		for _, a := range many {
			p.add(netip.MustParseAddrPort(a))
		}
		got := p.summary()
		if got.Distinct != 70 || len(got.IPs) != service.MaxListedPeers || !got.Truncated {
			t.Fatalf("summary: distinct %d listed %d truncated %v, want 70, %d, true", got.Distinct, len(got.IPs), got.Truncated, service.MaxListedPeers)
		}
		if got.IPs[0] != "198.18.0.1" || got.MinPort != 1024 || got.MaxPort != 1093 {
			t.Fatalf("summary = %+v", got)
		}
	})
}
