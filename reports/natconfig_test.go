package reports

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/internal/schematest"
)

func gatedFixture() *Report {
	r := fixture()
	r.NATConfig = &NATConfig{File: "nat.tf", Form: "terraform", Resource: "google_compute_router_nat.nat",
		Changes: []NATSettingChange{{NAT: "nat", Setting: "min_ports_per_vm", Before: "128", After: "64"}},
		Ignored: []string{"log_config (nat.tf:22): logging is not modelled"}}
	return r
}

// A gated run's report names the candidate and each change in every format
// CI reads, and its JSON still validates; a candidate field the schema
// does not know is refused, so the check is not vacuous.
func TestNATConfigInReports(t *testing.T) {
	r := gatedFixture()
	var buf bytes.Buffer
	require.NoError(t, Render(&buf, r, "json"))
	require.NoError(t, schematest.Validate("report.schema.json", buf.Bytes()))
	assert.Contains(t, buf.String(), `"nat_config": {`)
	assert.Contains(t, buf.String(), `"setting": "min_ports_per_vm"`)
	back, err := Decode(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	assert.Equal(t, r.NATConfig, back.NATConfig)

	bad := bytes.Replace(buf.Bytes(), []byte(`"form": "terraform"`), []byte(`"form": "terraform", "extra": 1`), 1)
	require.Error(t, schematest.Validate("report.schema.json", bad))

	md, err := renderString(r, "md")
	require.NoError(t, err)
	assert.Contains(t, md, "### NAT config candidate")
	assert.Contains(t, md, "| nat | `min_ports_per_vm` | 128 | 64 |")
	assert.Contains(t, md, "- ignored: log\\_config (nat.tf:22): logging is not modelled")

	page, err := renderString(r, "html")
	require.NoError(t, err)
	assert.Contains(t, page, `<p class="meta" id="nat-config">NAT config candidate nat.tf (google_compute_router_nat.nat), read as terraform: nat min_ports_per_vm 128 -&gt; 64 (ignored: log_config (nat.tf:22): logging is not modelled)</p>`)

	junit, err := renderString(r, "junit")
	require.NoError(t, err)
	assert.Contains(t, junit, `<property name="nat_config" value="nat.tf (google_compute_router_nat.nat)"></property>`)
	assert.Contains(t, junit, `<property name="nat_config_changes" value="nat min_ports_per_vm 128 -&gt; 64"></property>`)
	assert.Contains(t, junit, "with NAT config nat.tf (google_compute_router_nat.nat): nat min_ports_per_vm 128 -&gt; 64")
}
