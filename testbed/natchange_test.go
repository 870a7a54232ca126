package testbed

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/testbed/service"
)

// A live change's candidate is judged on copies of the running spec: the
// runner reads the spec's lists (an app tier's hosts for every phase's
// loads) while a nat-config fault builds its candidate, so building one
// must never write into them (run with -race: it reads the apps while the
// candidate is built; without -race the spec is checked unchanged).
func TestCandidateNATConfigLeavesTheSpecAlone(t *testing.T) {
	s := gcpSpec(GCPCloudNAT{MinPortsPerVM: 64}, 2)
	s.Backends = append(s.Backends, BackendSpec{Name: "deps", Protocol: service.HTTP1, Port: 8081})
	s.Apps = []AppSpec{{Name: "api", Hosts: 2, Dependency: "deps", Calls: CallsPooled}}
	s.Normalize()
	require.NoError(t, s.Validate())
	l, err := Plan(&s, 0)
	require.NoError(t, err)
	before := s.Apps[0]
	cand := s.NATs[0]
	g := *cand.GCP
	g.EnableDynamicPortAllocation, g.MinPortsPerVM, g.MaxPortsPerVM = true, 256, 1024
	cand.GCP = &g

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 50 {
			a, c, b := s.Apps[0], s.Clients[0], s.Backends[0]
			_, _, _ = a, c, b
		}
	}()
	cfg, err := CandidateNATConfig(&s, l, cand)
	wg.Wait()
	require.NoError(t, err)
	assert.True(t, cfg.GCP.DynamicPortAllocation)
	assert.Equal(t, 256, cfg.GCP.MinPorts)
	assert.Equal(t, before, s.Apps[0])
	assert.Equal(t, 4, s.Apps[0].CallPool, "calls: pooled defaults to 4 connections a host")
	assert.False(t, s.NATs[0].GCP.EnableDynamicPortAllocation, "the running NAT's settings are not the candidate's")
}
