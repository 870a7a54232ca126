package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/fixtures"
)

// listed returns the scenario names of `natlab list` output: the first
// field of each indented line (the unindented lines head the groups).
func listed(out string) []string {
	var names []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(line, "  ") {
			names = append(names, f[0])
		}
	}
	return names
}

// natlab list groups the fixtures by incident, each line saying what the
// fixture is to its incident: incident 001's group holds its incident
// first, then its fixes, and the fixtures of no incident come last.
func TestListGroupsByIncident(t *testing.T) {
	code, out, errOut := run(t, "list")
	require.Equal(t, ExitPass, code, errOut)
	assert.ElementsMatch(t, fixtures.Scenarios(), listed(out), "every embedded fixture once")

	groups := map[string][][]string{} // heading -> rows (name, kind)
	var order []string
	heading := ""
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if !strings.HasPrefix(line, "  ") {
			heading = line
			order = append(order, heading)
			continue
		}
		require.NotEmpty(t, heading, "a fixture line before any group heading: %q", line)
		f := strings.Fields(line)
		require.GreaterOrEqual(t, len(f), 2, line)
		groups[heading] = append(groups[heading], f[:2])
	}
	require.Contains(t, groups, "incident 001")
	var kinds []string
	got := map[string]string{}
	for _, row := range groups["incident 001"] {
		got[row[0]] = row[1]
		if len(kinds) == 0 || kinds[len(kinds)-1] != row[1] {
			kinds = append(kinds, row[1])
		}
	}
	assert.Equal(t, []string{"incident", "fix"}, kinds, "the incidents first, then the fixes")
	for name, kind := range map[string]string{
		"nat-port-exhaustion":                 "incident",
		"nat-port-exhaustion-full":            "incident",
		"nat-port-exhaustion-more-ips":        "fix",
		"nat-port-exhaustion-pooled":          "fix",
		"nat-port-exhaustion-short-time-wait": "fix",
		"nat-port-exhaustion-offpeak":         "incident",
		"nat-port-exhaustion-full-2ips":       "fix",
	} {
		assert.Equal(t, kind, got[name], "%s in incident 001's group", name)
	}
	if i := len(order) - 1; assert.Positive(t, i) && groups["no incident"] != nil {
		assert.Equal(t, "no incident", order[i], "the fixtures of no incident come last")
	}
	assert.Contains(t, out, "  egress-baseline", "a gate is listed")
}

// A run directory written with --out NAME does not hide the fixture NAME:
// a directory is never a scenario file, so validate and list still find
// the fixture; a directory named like no fixture is bad input that says
// what to give instead.
func TestDirectoryNamedLikeAFixture(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	require.NoError(t, os.Mkdir("nat-port-exhaustion", 0o755))
	require.NoError(t, os.Mkdir("runs", 0o755))

	code, stdout, stderr := run(t, "validate", "nat-port-exhaustion")
	assert.Equal(t, ExitPass, code, stdout+stderr)
	code, stdout, stderr = run(t, "list")
	assert.Equal(t, ExitPass, code, stderr)
	assert.ElementsMatch(t, fixtures.Scenarios(), listed(stdout))

	code, _, stderr = run(t, "validate", "runs")
	assert.Equal(t, ExitInput, code)
	assert.Contains(t, stderr, "runs is a directory, not a scenario file: give a scenario's YAML file or the name of a built-in fixture (natlab list)")
}
