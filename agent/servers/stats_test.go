package servers

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/natlab/natlab/testbed/service"
)

func TestStatusClasses(t *testing.T) {
	var s statusClasses
	for _, code := range []int{200, 204, 301, 404, 429, 500, 503, 599, 99, 600} {
		s.add(code)
	}
	got := s.snapshot()
	want := map[string]uint64{"2xx": 2, "3xx": 1, "4xx": 2, "5xx": 3}
	if len(got) != len(want) {
		t.Fatalf("snapshot = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("snapshot = %v, want %v", got, want)
		}
	}
}

// TestStatsJSON: the agent ships Stats as JSON; the field names are part
// of the agent protocol.
func TestStatsJSON(t *testing.T) {
	s := start(t, service.Spec{Protocol: service.Registrar})
	get(t, h1Client(t), baseURL(s)+"/status/500")
	b, err := json.Marshal(s.Stats())
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	for _, want := range []string{`"name":"test-registrar"`, `"protocol":"registrar"`, `"accepted":1`, `"status":{"5xx":1}`, `"failed_closed":0`, `"peers":{"distinct":1`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("stats json %s lacks %s", b, want)
		}
	}
	var back service.Stats
	if err := json.Unmarshal(b, &back); err != nil || back.Status["5xx"] != 1 || back.Accepted != 1 {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}
