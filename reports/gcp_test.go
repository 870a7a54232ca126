package reports

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/internal/schematest"
)

// A Cloud NAT's metrics are in report.json (valid by the schema), in
// report.md and report.html (a line and a table of VMs) and as columns of
// samples.csv after the box's other columns, drops one column per reason;
// samples.csv reads back to the same readings. A box of another profile
// gets none.
func TestGCPMetricsInReports(t *testing.T) {
	r := fixture()
	r.NAT[0].GCP = &GCPMetrics{AllocatedPorts: 128, PortUsage: 80, AllocationFailed: true,
		DroppedSent:    map[string]uint64{"OUT_OF_RESOURCES": 96, "ENDPOINT_INDEPENDENCE_CONFLICT": 3},
		NewConnections: 128, OpenConnections: 120,
		VMs: []GCPVM{{VM: "198.18.0.10", AllocatedPorts: 128, PortUsage: 80}, {VM: "198.18.0.11", AllocatedPorts: 64, PortUsage: 40}}}
	for i := range r.Samples {
		if v, ok := r.Samples[i].NAT["nat"]; ok {
			v.GCP = &GCPMetrics{AllocatedPorts: 64 * (i + 1), PortUsage: 10 * i, AllocationFailed: i == 1,
				DroppedSent:    map[string]uint64{"OUT_OF_RESOURCES": uint64(2 * i), "ENDPOINT_INDEPENDENCE_CONFLICT": uint64(i)},
				NewConnections: uint64(5 * i), OpenConnections: 7 * i}
			r.Samples[i].NAT["nat"] = v
		}
	}
	var buf bytes.Buffer
	require.NoError(t, Render(&buf, r, "json"))
	require.NoError(t, schematest.Validate("report.schema.json", buf.Bytes()))
	assert.Contains(t, buf.String(), `"OUT_OF_RESOURCES": 96`)
	assert.Contains(t, buf.String(), `"vm": "198.18.0.11"`)

	line := "Cloud NAT `nat`, metrics over the run: allocated_ports (max VM) 128, port_usage (max VM) 80, nat_allocation_failed true, dropped_sent_packets_count OUT_OF_RESOURCES 96, ENDPOINT_INDEPENDENCE_CONFLICT 3, new_connections_count 128, open_connections (max) 120."
	buf.Reset()
	require.NoError(t, Render(&buf, r, "md"))
	md := buf.String()
	assert.Contains(t, md, line)
	assert.Contains(t, md, "| VM | Peak allocated_ports | Peak port_usage |\n|---|---|---|\n| 198.18.0.10 | 128 | 80 |\n| 198.18.0.11 | 64 | 40 |\n")
	assert.NotContains(t, md, "Cloud NAT `nat-b`")

	buf.Reset()
	require.NoError(t, Render(&buf, r, "html"))
	assert.Contains(t, buf.String(), "<p>Cloud NAT nat, metrics over the run: allocated_ports (max VM) 128,")
	assert.Contains(t, buf.String(), `<tr><td>198.18.0.11</td><td class="n">64</td><td class="n">40</td></tr>`)

	buf.Reset()
	require.NoError(t, Render(&buf, r, "csv"))
	head, _, _ := strings.Cut(buf.String(), "\n")
	assert.Contains(t, head, "nat.nat.ports_in_use,nat.nat.allocated_ports,nat.nat.port_usage,nat.nat.nat_allocation_failed,"+
		"nat.nat.dropped_sent_packets_count.OUT_OF_RESOURCES,nat.nat.dropped_sent_packets_count.ENDPOINT_INDEPENDENCE_CONFLICT,"+
		"nat.nat.new_connections_count,nat.nat.open_connections,nat.nat-b.")
	assert.NotContains(t, head, "nat.nat-b.allocated_ports")

	back, err := ReadSamples(&buf)
	require.NoError(t, err)
	require.Len(t, back, len(r.Samples))
	read := 0
	for i := range r.Samples {
		want, ok := r.Samples[i].NAT["nat"]
		if !ok {
			continue
		}
		read++
		assert.Equal(t, want.GCP, back[i].NAT["nat"].GCP, "row %d", i+1)
		assert.Nil(t, back[i].NAT["nat-b"].GCP, "row %d: nat-b is no Cloud NAT", i+1)
	}
	assert.Positive(t, read)
}
