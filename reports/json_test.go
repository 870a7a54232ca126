package reports

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// What Write puts in report.json, Read gives back exactly, samples included,
// so every format can be rendered again from a finished run.
func TestJSONRoundTrip(t *testing.T) {
	dir := t.TempDir()
	want := fixture()
	require.NoError(t, Write(dir, want, "json"))
	got, err := Read(filepath.Join(dir, "report.json"))
	require.NoError(t, err)
	want.Schema = SchemaVersion
	require.Equal(t, want, got)
	require.Len(t, got.Samples, 30)
	require.Equal(t, 0.125, got.Samples[0].NAT["nat-b"].PortUtilization)
}

// The top-level keys come in the documented order, durations are seconds
// in "_s" fields and times are RFC 3339.
func TestJSONShape(t *testing.T) {
	b, err := renderString(fixture(), "json")
	require.NoError(t, err)
	keys := []string{`"schema"`, `"scenario"`, `"testbed"`, `"verdict"`, `"started"`, `"duration_s"`,
		`"assertions"`, `"totals"`, `"latency"`, `"nat"`, `"phases"`, `"faults"`, `"alarms"`, `"samples"`}
	last := -1
	for _, k := range keys {
		i := strings.Index(b, "\n  "+k+":")
		require.Greater(t, i, last, "key %s out of order or missing", k)
		last = i
	}
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(b), &m))
	require.Equal(t, 30.0, m["duration_s"])
	_, err = time.Parse(time.RFC3339, m["started"].(string))
	require.NoError(t, err)
	outcomes := m["totals"].(map[string]any)["outcomes"].(map[string]any)
	require.Len(t, outcomes, 16, "every outcome is present, zeros included")
	require.Equal(t, 0.0, outcomes["refused"])
	require.Equal(t, 510.0, outcomes["connect_timeout"])
	require.Nil(t, m["alarms"].([]any)[1].(map[string]any)["first_fired"], "an alarm that never fired has a null first_fired")
}

func TestReadRejects(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, body, want string }{
		{"newer schema", `{"schema":"natlab.report/v2","scenario":{"name":"x"}}`, `"natlab.report/v2" is not supported`},
		{"no schema", `{"scenario":{"name":"x"}}`, "not a natlab report"},
		{"foreign schema", `{"schema":"k6/summary"}`, "is not a natlab report schema"},
		{"not json", `<html>`, "decode report"},
		{"unknown outcome", `{"schema":"natlab.report/v1","totals":{"outcomes":{"teleported":1}}}`, "teleported"},
		{"bad duration", `{"schema":"natlab.report/v1","duration_s":"ten"}`, "decode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".json")
			require.NoError(t, os.WriteFile(p, []byte(tc.body), 0o644))
			_, err := Read(p)
			require.ErrorContains(t, err, tc.want)
		})
	}
	_, err := Read(filepath.Join(dir, "missing.json"))
	require.ErrorContains(t, err, "read report")
}

func TestSecondsJSON(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		json string
	}{
		{0, "0"},
		{1500 * time.Millisecond, "1.5"},
		{250 * time.Microsecond, "0.00025"},
		{1234567 * time.Nanosecond, "0.001235"}, // rounded to the microsecond
		{120 * time.Second, "120"},
	} {
		b, err := json.Marshal(Seconds(tc.d))
		require.NoError(t, err)
		require.Equal(t, tc.json, string(b))
		var s Seconds
		require.NoError(t, json.Unmarshal(b, &s))
		require.Equal(t, tc.d.Round(time.Microsecond), s.D())
	}
	var s Seconds
	require.Error(t, json.Unmarshal([]byte("1e300"), &s))
}
