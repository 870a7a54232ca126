package reports

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/internal/schematest"
)

// appFixture is fixture() with two app tiers and a gate's candidate.
func appFixture() *Report {
	r := fixture()
	at := r.Started.Add(10 * time.Second)
	r.Apps = []App{
		{Name: "app-a", Zone: "a", Block: "zone-a", NAT: "nat-a", Hosts: 2, Attempts: 2088, Errors: 1537, ErrorRate: 0.736,
			HealthCheckFailures: 6, Restarts: 2, BootAttempts: 10, TimeToServe: Seconds(33790 * time.Millisecond), Serving: 2,
			Restarted: []AppRestart{{Host: "app-a-1", At: at}, {Host: "app-a-2", At: at}}},
		{Name: "app-b", Zone: "b", Block: "zone-b", NAT: "nat-b", Hosts: 2, Attempts: 2088, Serving: 2, BootAttempts: 2},
	}
	r.Candidates = []Candidate{{NAT: "nat-a", File: "bundle.conf", IPForwardOff: Seconds(9 * time.Second),
		Sysctls: []string{"net.core.somaxconn = 4096 (bundle.conf:5)", "net.ipv4.ip_forward = 0 (bundle.conf:6)"},
		Breaks:  []string{"bundle.conf:6 sets net.ipv4.ip_forward = 0 on nat-a: the NAT box forwards nothing"}}}
	return r
}

// The app tiers and the candidates validate against the schema and show
// in the markdown and html reports: each app's figures, when its hosts
// restarted, and the NAT and line a candidate broke.
func TestAppsAndCandidatesInReports(t *testing.T) {
	r := appFixture()
	var buf bytes.Buffer
	require.NoError(t, Render(&buf, r, "json"))
	require.NoError(t, schematest.Validate("report.schema.json", buf.Bytes()))

	buf.Reset()
	require.NoError(t, Render(&buf, r, "md"))
	md := buf.String()
	assert.Contains(t, md, "### Apps")
	assert.Contains(t, md, "| app-a | a | nat-a | 2 | 2,088 | 73.6% | 6 | 2 | 10 | 33.79 s | 2 of 2 |")
	assert.Contains(t, md, "| app-b | b | nat-b | 2 | 2,088 | 0% | 0 | 0 | 2 | - | 2 of 2 |")
	assert.Contains(t, md, "Restarts of app-a: app-a-1 +10s, app-a-2 +10s.")
	assert.Contains(t, md, "### Candidate sysctls")
	assert.Contains(t, md, "bundle.conf:6 sets net.ipv4.ip\\_forward = 0 on nat-a")

	buf.Reset()
	require.NoError(t, Render(&buf, r, "html"))
	html := buf.String()
	assert.True(t, strings.Contains(html, `<section id="apps">`), "the html report has an apps section")
	assert.True(t, strings.Contains(html, "Restarts of app-a: app-a-1 &#43;10s, app-a-2 &#43;10s."), "the html report says when app-a's hosts restarted")

	// Without apps or candidates neither section is written.
	buf.Reset()
	require.NoError(t, Render(&buf, fixture(), "md"))
	assert.NotContains(t, buf.String(), "### Apps")
	assert.NotContains(t, buf.String(), "### Candidate sysctls")
}
