package sampler

import "testing"

func TestBackendScaleMetrics(t *testing.T) {
	s := Sample{Backends: []BackendSample{{Host: "api", Active: 25000, Processes: 2, ListenDrops: 7, ListenOverflows: 9}, {Host: "old"}}}
	for name, want := range map[string]float64{
		"backend.api.active": 25000, "backend.api.processes": 2, "backend.api.listen_drops": 7,
		"backend.api.listen_overflows": 9, "backend.old.processes": 1,
	} {
		if got, ok := s.Metric(name); !ok || got != want {
			t.Errorf("Metric(%s) = %v %v, want %v", name, got, ok, want)
		}
	}
}
