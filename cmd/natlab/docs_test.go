package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/livemetrics"
)

var update = flag.Bool("update", false, "rewrite generated docs")

// docs/faults.md is what `natlab faults` prints: the docs cannot drift
// from the registry. Regenerate with go test ./cmd/natlab -run TestFaultsDoc -update.
func TestFaultsDocMatchesRegistry(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, writeFaults(&b))
	path := filepath.Join("..", "..", "docs", "faults.md")
	if *update {
		require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), b.String(), "docs/faults.md is stale: run go test ./cmd/natlab -run TestFaultsDoc -update")
	code, out, _ := run(t, "faults")
	assert.Equal(t, ExitPass, code)
	assert.Equal(t, b.String(), out)
}

// The README names every command, the flags of compare and of the live
// metrics, and every metric the endpoint serves.
func TestReadmeIsTrueToTheCLI(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	readme := string(b)
	for _, c := range newRoot(io.Discard, io.Discard).Commands() {
		if c.Hidden || c.Name() == "agent" || c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		assert.Contains(t, readme, "`natlab "+c.Name(), "README's command table lacks %s", c.Name())
	}
	for _, flag := range []string{"--metrics-addr", "--metrics-public", "--vary", "--variant", "--gate", "--set"} {
		assert.Contains(t, readme, flag)
	}
	for _, name := range livemetrics.Names() {
		assert.Contains(t, readme, "`"+name, "README's metrics table lacks %s", name)
	}
	ci, err := os.ReadFile(filepath.Join("..", "..", "docs", "ci.md"))
	require.NoError(t, err)
	for _, s := range []string{"GITHUB_STEP_SUMMARY", "junit.xml", "upload-artifact", "report.md"} {
		assert.Contains(t, string(ci), s)
	}
}
