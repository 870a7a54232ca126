package scenario

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// incident and kind say which incident report a scenario belongs to and
// what it is to it; each mistake is placed and says what is valid.
func TestParseIncidentAndKind(t *testing.T) {
	s, err := Parse("s.yaml", []byte(edit("name: t\n", "name: t\nincident: 001\nkind: fix\n")), Options{Faults: testCatalog{}})
	require.NoError(t, err)
	assert.Equal(t, "001", s.Incident, "an unquoted 001 keeps its digits")
	assert.Equal(t, KindFix, s.Kind)

	s, err = Parse("s.yaml", []byte(edit("name: t\n", "name: t\nkind: gate\n")), Options{Faults: testCatalog{}})
	require.NoError(t, err)
	assert.Equal(t, KindGate, s.Kind, "a gate needs no incident")
	assert.Empty(t, s.Incident)

	for _, tc := range []struct{ name, meta, want string }{
		{"unknown kind", "incident: \"001\"\nkind: fixx\n", `s.yaml:3:7: kind "fixx": did you mean "fix"? valid kinds are incident, fix, gate, demo`},
		{"a fix of no incident", "kind: fix\n", `s.yaml:2:7: kind fix needs the incident it belongs to: add incident: "NNN", the incident report's number`},
		{"an incident without a kind", "incident: \"001\"\n", `s.yaml:2:1: incident 001 has no kind: add kind: incident | fix | gate | demo`},
		{"not a report number", "incident: one\nkind: incident\n", `s.yaml:2:11: incident "one": want the incident report's number, three digits such as "001"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(edit("name: t\n", "name: t\n"+tc.meta)), Options{Faults: testCatalog{}})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
