package service

import (
	"testing"
)

func TestMergeAddsProcesses(t *testing.T) {
	a := []Stats{{Name: "tcp-echo:8080", Protocol: TCPEcho, Addr: "0.0.0.0:8080", Accepted: 10, Active: 4, ListenDrops: 7,
		Peers: PeerSummary{Distinct: 2, IPs: []string{"198.19.0.2", "198.19.0.3"}, MinPort: 2000, MaxPort: 3000}}}
	b := []Stats{{Name: "tcp-echo:8080", Protocol: TCPEcho, Addr: "0.0.0.0:8080", Accepted: 5, Active: 6, ListenDrops: 7,
		Peers: PeerSummary{Distinct: 2, IPs: []string{"198.19.0.10", "198.19.0.3"}, MinPort: 1500, MaxPort: 2500}},
		{Name: "http1:80", Protocol: HTTP1, Status: map[string]uint64{"2xx": 3}}}
	c := []Stats{{Name: "http1:80", Protocol: HTTP1, Status: map[string]uint64{"2xx": 1, "5xx": 2}}}
	got := Merge(a, b, c)
	if len(got) != 2 || got[0].Name != "tcp-echo:8080" || got[1].Name != "http1:80" {
		t.Fatalf("Merge names = %+v", got)
	}
	e := got[0]
	if e.Accepted != 15 || e.Active != 10 || e.Processes != 2 || e.ListenDrops != 7 {
		t.Errorf("merged echo = accepted %d active %d processes %d listen_drops %d, want 15 10 2 7", e.Accepted, e.Active, e.Processes, e.ListenDrops)
	}
	if e.Peers.Distinct != 3 || len(e.Peers.IPs) != 3 || e.Peers.IPs[0] != "198.19.0.2" || e.Peers.IPs[2] != "198.19.0.10" ||
		e.Peers.MinPort != 1500 || e.Peers.MaxPort != 3000 || e.Peers.Truncated {
		t.Errorf("merged peers = %+v", e.Peers)
	}
	h := got[1]
	if h.Processes != 2 || h.Status["2xx"] != 4 || h.Status["5xx"] != 2 {
		t.Errorf("merged http = %+v", h)
	}
	if b[1].Status["2xx"] != 3 {
		t.Errorf("Merge changed its input: %v", b[1].Status)
	}
}

func TestMergeFlagsProcessesThatDisagree(t *testing.T) {
	a := []Stats{{Name: "r", Protocol: Registrar, Dependency: DependencyStats{Limit: 1}}}
	b := []Stats{{Name: "r", Protocol: Registrar, Dependency: DependencyStats{Limit: 1}}}
	c := []Stats{{Name: "r", Protocol: Registrar}}
	if got := Merge(a, b)[0].Dependency; got.Mixed || got.Limit != 1 {
		t.Errorf("two processes alike: %+v", got)
	}
	if got := Merge(a, b, c)[0].Dependency; !got.Mixed {
		t.Errorf("one process of three not saturated: %+v, want Mixed", got)
	}
}

func TestMergeOneProcessIsIdentity(t *testing.T) {
	a := []Stats{{Name: "x", Protocol: TCPEcho, Accepted: 3, Active: 1}}
	got := Merge(a)
	if len(got) != 1 || got[0].Accepted != 3 || got[0].Active != 1 || got[0].Processes != 1 {
		t.Fatalf("Merge(one) = %+v", got)
	}
}
