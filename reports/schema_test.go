package reports

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/internal/schematest"
)

// report.json and compare.json as the writers produce them validate
// against the published JSON Schemas (docs/schema); so do an incomplete
// run and a variant that never ran. A document the schema must refuse is
// refused, so the check is not vacuous.
func TestJSONValidatesAgainstSchema(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, Render(&buf, fixture(), "json"))
	require.NoError(t, schematest.Validate("report.schema.json", buf.Bytes()))

	inc := fixture()
	inc.Verdict, inc.Incomplete = VerdictIncomplete, "interrupted (Ctrl-C)"
	inc.Assertions, inc.Alarms, inc.Faults = nil, nil, nil
	buf.Reset()
	require.NoError(t, Render(&buf, inc, "json"))
	require.NoError(t, schematest.Validate("report.schema.json", buf.Bytes()))

	// A nat-config fault's effects, observed and not yet observed.
	eff := fixture()
	n := 384
	eff.Faults = append(eff.Faults,
		Fault{Name: "lower", Kind: "nat-config", Host: "nat", Effects: &ConnectionEffects{PredictedResets: 384, ObservedResets: &n, ObservedDropped: new(int)}},
		Fault{Name: "later", Kind: "nat-config", Host: "nat", Effects: &ConnectionEffects{PredictedDropped: 3}})
	buf.Reset()
	require.NoError(t, Render(&buf, eff, "json"))
	require.NoError(t, schematest.Validate("report.schema.json", buf.Bytes()))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &doc))
	faults := doc["faults"].([]any)
	faults[len(faults)-1].(map[string]any)["effects"].(map[string]any)["predicted_resets"] = -1
	bad, _ := json.Marshal(doc)
	require.Error(t, schematest.Validate("report.schema.json", bad), "a negative count of resets")

	c := compareFixture()
	c.Variants = append(c.Variants, FailedVariant("udp", []string{"phases[*].load.strategy=udp"}, "04-udp", "not run: the comparison was interrupted"))
	c.Judge()
	buf.Reset()
	require.NoError(t, RenderComparison(&buf, c, "json"))
	require.NoError(t, schematest.Validate("compare.schema.json", buf.Bytes()))

	// Mutations the schemas refuse.
	for name, mutate := range map[string]func(m map[string]any){
		"unknown verdict":      func(m map[string]any) { m["verdict"] = "maybe" },
		"no totals":            func(m map[string]any) { delete(m, "totals") },
		"utilization above 1":  func(m map[string]any) { m["nat"].([]any)[0].(map[string]any)["peak_port_utilization"] = 1.5 },
		"incomplete, no why":   func(m map[string]any) { m["verdict"] = "incomplete"; delete(m, "incomplete") },
		"started not a time":   func(m map[string]any) { m["started"] = "yesterday" },
		"outcome missing":      func(m map[string]any) { delete(m["totals"].(map[string]any)["outcomes"].(map[string]any), "reset") },
		"other schema version": func(m map[string]any) { m["schema"] = "natlab.report/v2" },
	} {
		buf.Reset()
		require.NoError(t, Render(&buf, fixture(), "json"))
		var m map[string]any
		require.NoError(t, json.Unmarshal(buf.Bytes(), &m))
		mutate(m)
		b, err := json.Marshal(m)
		require.NoError(t, err)
		require.Error(t, schematest.Validate("report.schema.json", b), name)
	}
}
