package docker_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/docker"
)

// The agent binary runs in a FROM scratch image only when static; the
// image tag follows its content.
func TestAgentBinaryIsStatic(t *testing.T) {
	static, err := docker.IsStatic(agentBinary)
	require.NoError(t, err)
	assert.True(t, static, "%s needs a dynamic loader", agentBinary)

	_, err = docker.IsStatic(filepath.Join("testdata", "missing"))
	assert.Error(t, err)

	tag, err := docker.ImageTag(agentBinary)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(tag, docker.ImageRepo+":"), tag)
	assert.Len(t, strings.TrimPrefix(tag, docker.ImageRepo+":"), 12)
}
