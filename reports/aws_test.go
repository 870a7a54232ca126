package reports

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/internal/schematest"
)

// An AWS NAT gateway's CloudWatch metrics are in report.json (valid by
// the schema), in report.md and as columns of samples.csv after the box's
// other columns; a box of another profile gets none.
func TestAWSMetricsInReports(t *testing.T) {
	r := fixture()
	r.NAT[0].AWS = &AWSMetrics{ErrorPortAllocation: 50, PacketsDropCount: 100, ActiveConnectionCount: 200,
		ConnectionAttemptCount: 250, ConnectionEstablishedCount: 200, IdleTimeoutCount: 8}
	for i := range r.Samples {
		if v, ok := r.Samples[i].NAT["nat"]; ok {
			v.AWS = &AWSMetrics{ErrorPortAllocation: uint64(i), ActiveConnectionCount: 10 * i}
			r.Samples[i].NAT["nat"] = v
		}
	}
	var buf bytes.Buffer
	require.NoError(t, Render(&buf, r, "json"))
	require.NoError(t, schematest.Validate("report.schema.json", buf.Bytes()))
	assert.Contains(t, buf.String(), `"ErrorPortAllocation": 50`)

	buf.Reset()
	require.NoError(t, Render(&buf, r, "md"))
	assert.Contains(t, buf.String(), "NAT gateway `nat`, CloudWatch metrics over the run: ErrorPortAllocation 50, PacketsDropCount 100, ActiveConnectionCount (max) 200, ConnectionAttemptCount 250, ConnectionEstablishedCount 200, IdleTimeoutCount 8.")
	assert.NotContains(t, buf.String(), "NAT gateway `nat-b`")

	buf.Reset()
	require.NoError(t, Render(&buf, r, "html"))
	assert.Contains(t, buf.String(), "<p>NAT gateway nat, CloudWatch metrics over the run: ErrorPortAllocation 50,")

	buf.Reset()
	require.NoError(t, Render(&buf, r, "csv"))
	head, _, _ := strings.Cut(buf.String(), "\n")
	assert.Contains(t, head, "nat.nat.ports_in_use,nat.nat.ErrorPortAllocation,nat.nat.PacketsDropCount,nat.nat.ActiveConnectionCount,nat.nat.ConnectionAttemptCount,nat.nat.ConnectionEstablishedCount,nat.nat.IdleTimeoutCount,nat.nat-b.")
	assert.NotContains(t, head, "nat.nat-b.ErrorPortAllocation")
}
