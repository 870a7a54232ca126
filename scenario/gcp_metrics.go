package scenario

import (
	"github.com/natlab/natlab/testbed/natcfg"
)

// gcpMetrics are Cloud NAT's metrics (profile gcp-cloud-nat), named as
// Cloud Monitoring names them under router.googleapis.com/nat/. Over a
// window, the gauges (allocated_ports, port_usage: of the VM that had the
// most; open_connections) are the highest sampled, nat_allocation_failed
// is whether it was ever true, and the counts are what they rose by. As
// an alarm, each is the tick's value (the counts: the tick's rise).
var gcpMetrics = func() map[string]metricSpec {
	m := map[string]metricSpec{
		"nat.allocated_ports":            {kind: kindCount},
		"nat.port_usage":                 {kind: kindCount},
		"nat.open_connections":           {kind: kindCount},
		"nat.nat_allocation_failed":      {kind: kindBool},
		"nat.dropped_sent_packets_count": {kind: kindCount},
		"nat.new_connections_count":      {kind: kindCount},
	}
	for _, r := range natcfg.DropReasons {
		m["nat.dropped_sent_packets_count."+r] = metricSpec{kind: kindCount}
	}
	return m
}()

// gcpValue is the value of a Cloud NAT metric over a window; ok is false
// for other metrics, and why says there is none when no NAT box ran the
// profile.
func gcpValue(metric string, g *GCPStats) (v float64, why string, ok bool) {
	if _, known := gcpMetrics[metric]; !known {
		return 0, "", false
	}
	if g == nil {
		return 0, "no NAT box ran profile " + natcfg.ProfileGCPCloudNAT + ", whose metric " + metric + " is", true
	}
	switch metric {
	case "nat.allocated_ports":
		return float64(g.AllocatedPorts), "", true
	case "nat.port_usage":
		return float64(g.PortUsage), "", true
	case "nat.open_connections":
		return float64(g.OpenConnections), "", true
	case "nat.nat_allocation_failed":
		return boolValue(g.AllocationFailed), "", true
	case "nat.dropped_sent_packets_count":
		var n uint64
		for _, c := range g.DroppedSent {
			n += c
		}
		return float64(n), "", true
	case "nat.new_connections_count":
		return float64(g.NewConnections), "", true
	}
	reason := metric[len("nat.dropped_sent_packets_count."):]
	return float64(g.DroppedSent[reason]), "", true
}
