package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
