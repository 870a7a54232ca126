package reports

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/internal/schematest"
)

// preChangeFixture is the report fixture with a Cloud NAT change whose
// pre-change reading is known, and one that came before any reading.
func preChangeFixture() *Report {
	r := fixture()
	resets, dropped, usage, alloc := 260, 0, 64, 64
	r.Faults = append(r.Faults,
		Fault{Name: "remediate", Kind: "nat-config", Host: "nat", InjectedAt: atp(26), RevertedAt: atp(40),
			Effects: &ConnectionEffects{PredictedResets: 260, ObservedResets: &resets, ObservedDropped: &dropped,
				Before: &PreChange{T: 25, PortUtilization: 0.5, PortUsage: &usage, AllocatedPorts: &alloc}}},
		Fault{Name: "early", Kind: "nat-config", Host: "nat", InjectedAt: atp(0),
			Effects: &ConnectionEffects{PredictedDropped: 3}})
	return r
}

// The pre-change check (utilization before the change, predicted and
// observed effects) is in report.json, report.md and report.html.
func TestPreChangeInReports(t *testing.T) {
	r := preChangeFixture()
	var buf bytes.Buffer
	require.NoError(t, Render(&buf, r, "json"))
	require.NoError(t, schematest.Validate("report.schema.json", buf.Bytes()))
	assert.Contains(t, buf.String(), `"before": {
          "t_s": 25,
          "port_utilization": 0.5,
          "port_usage": 64,
          "allocated_ports": 64
        }`)

	buf.Reset()
	require.NoError(t, Render(&buf, r, "md"))
	md := buf.String()
	assert.Contains(t, md, "| Fault | Read at | Port utilization before | port_usage / allocated_ports before | Resets predicted | Resets observed | Dropped predicted | Dropped observed |\n")
	assert.Contains(t, md, "| remediate | +25.0s | 50% | 64 / 64 (100%) | 260 | 260 | 0 | 0 |\n")
	assert.Contains(t, md, "| early | no reading | - | - | 0 | not read (never reverted) | 3 | not read (never reverted) |\n")

	buf.Reset()
	require.NoError(t, Render(&buf, r, "html"))
	html := buf.String()
	assert.Contains(t, html, `<h3 id="pre-change">Pre-change check</h3>`)
	assert.Contains(t, html, "<tr><td>remediate</td><td>&#43;25.0s</td><td>50%</td><td>64 / 64 (100%)</td><td>260</td><td>260</td><td>0</td><td>0</td></tr>")

	// Without a nat-config fault there is no pre-change check.
	buf.Reset()
	require.NoError(t, Render(&buf, fixture(), "md"))
	assert.NotContains(t, buf.String(), "Pre-change check")
	buf.Reset()
	require.NoError(t, Render(&buf, fixture(), "html"))
	assert.NotContains(t, buf.String(), "pre-change")
}
