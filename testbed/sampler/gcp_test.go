package sampler

import (
	"net/netip"
	"testing"

	"github.com/natlab/natlab/testbed/natcfg"
)

// Cloud NAT's readings become a sample with counts since the first reading
// and deltas since the last; the metrics are the highest allocation and
// usage of any VM and the sums of the counts.
func TestGCPSampleAndMetrics(t *testing.T) {
	vm1, vm2 := netip.MustParseAddr("198.18.0.10"), netip.MustParseAddr("198.18.0.11")
	first := &natcfg.GCPMetrics{DroppedSent: map[string]uint64{"OUT_OF_RESOURCES": 5, "ENDPOINT_INDEPENDENCE_CONFLICT": 1}, NewConnections: 10}
	last := &natcfg.GCPMetrics{DroppedSent: map[string]uint64{"OUT_OF_RESOURCES": 20, "ENDPOINT_INDEPENDENCE_CONFLICT": 3}, NewConnections: 50}
	now := &natcfg.GCPMetrics{DroppedSent: map[string]uint64{"OUT_OF_RESOURCES": 32, "ENDPOINT_INDEPENDENCE_CONFLICT": 8}, NewConnections: 90, OpenConnections: 77,
		VMs:              []natcfg.VMMetrics{{VM: vm1, AllocatedPorts: 128, PortUsage: 100}, {VM: vm2, AllocatedPorts: 64, PortUsage: 64, AllocationFailed: true}},
		AllocationFailed: true}
	g := gcpSample(now, first, last)
	s := Sample{NATs: []NATSample{{Host: "nat", GCP: g}, {Host: "linux"}}}
	for name, want := range map[string]float64{
		"nat.allocated_ports":                                                     128,
		"nat.port_usage":                                                          100,
		"nat.nat_allocation_failed":                                               1,
		"nat.dropped_sent_packets_count":                                          34,
		"nat.dropped_sent_packets_count_delta":                                    17,
		"nat.dropped_sent_packets_count.OUT_OF_RESOURCES":                         27,
		"nat.dropped_sent_packets_count.ENDPOINT_INDEPENDENCE_CONFLICT":           7,
		"nat.nat.dropped_sent_packets_count.ENDPOINT_INDEPENDENCE_CONFLICT_delta": 5,
		"nat.new_connections_count":                                               80,
		"nat.new_connections_count_delta":                                         40,
		"nat.open_connections":                                                    77,
		"nat.nat.allocated_ports":                                                 128,
		"nat.nat.dropped_sent_packets_count.OUT_OF_RESOURCES_delta":               12,
	} {
		if v, ok := s.Metric(name); !ok || v != want {
			t.Errorf("%s = %v (%v), want %v", name, v, ok, want)
		}
	}
	if _, ok := (Sample{NATs: []NATSample{{Host: "linux"}}}).Metric("nat.allocated_ports"); ok {
		t.Error("a Cloud NAT metric without a Cloud NAT has a value")
	}
}
