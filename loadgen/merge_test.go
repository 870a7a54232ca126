package loadgen

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"
)

func TestHistogramJSONIsExact(t *testing.T) {
	h := NewHistogram()
	for i := range 10000 {
		h.Record(time.Duration(i*i) * time.Microsecond)
	}
	h.Record(2 * time.Hour) // clamped to 1 h
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	back := NewHistogram()
	if err := json.Unmarshal(b, back); err != nil {
		t.Fatal(err)
	}
	if !back.Equal(h) || back.Count() != 10001 || back.Max() < 59*time.Minute {
		t.Fatalf("histogram changed through JSON: count %d max %s", back.Count(), back.Max())
	}
	if err := json.Unmarshal([]byte(`{"unit":"us","buckets":[[99999999,1]]}`), back); err == nil {
		t.Fatal("out of range bucket accepted")
	}
}

// Two processes of a split plan merge into exactly what one run of the
// union measured: counts add, histograms add, even through JSON.
func TestMergeEqualsUnion(t *testing.T) {
	requireRoot(t)
	ln := serve(t, echoHandler)
	p := Plan{Target: ln.Addr().String(), Strategy: Strategy{Kind: KindTCP},
		Sources: []netip.Addr{netip.MustParseAddr("127.0.2.1"), netip.MustParseAddr("127.0.2.2")},
		Phases: []Phase{
			{Name: "open", Duration: 300 * time.Millisecond, Schedule: Schedule{Kind: ScheduleOpen, Rate: RatePerSecond(300)}},
			{Name: "hold", Duration: 100 * time.Millisecond, Schedule: Schedule{Kind: ScheduleHold, Hold: 7}},
		}}
	parts := Split(p, 2)
	var results []*Result
	for _, q := range parts {
		results = append(results, runPlan(t, q))
	}
	// Through JSON, as the runner receives them from agents.
	var decoded []*Result
	for _, r := range results {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var d Result
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		decoded = append(decoded, &d)
	}
	merged := decoded[0]
	if err := merged.Merge(decoded[1]); err != nil {
		t.Fatal(err)
	}
	if err := merged.Check(); err != nil {
		t.Fatal(err)
	}
	// The union: every phase's counts and histograms summed by hand.
	for i := range merged.Phases {
		a, b := results[0].Phases[i], results[1].Phases[i]
		m := merged.Phases[i]
		if m.Counts.Attempts != a.Counts.Attempts+b.Counts.Attempts ||
			m.Counts.Of(OutcomeOK) != a.Counts.Of(OutcomeOK)+b.Counts.Of(OutcomeOK) ||
			m.Counts.NewConns != a.Counts.NewConns+b.Counts.NewConns {
			t.Fatalf("phase %s counts: merged %+v from %+v and %+v", m.Name, m.Counts, a.Counts, b.Counts)
		}
		u := a.Request.Clone()
		_ = u.Merge(b.Request)
		if !m.Request.Equal(u) || m.Request.Count() != a.Request.Count()+b.Request.Count() {
			t.Fatalf("phase %s request histogram not the union", m.Name)
		}
		c := a.Connect.Clone()
		_ = c.Merge(b.Connect)
		if !m.Connect.Equal(c) {
			t.Fatalf("phase %s connect histogram not the union", m.Name)
		}
	}
	if merged.Phases[0].Counts.Attempts != 90 || merged.Phases[1].Counts.Attempts != 7 || merged.Processes != 2 {
		t.Fatalf("want 90 + 7 attempts over 2 processes, got %d + %d over %d",
			merged.Phases[0].Counts.Attempts, merged.Phases[1].Counts.Attempts, merged.Processes)
	}
	other := &Result{Phases: []PhaseResult{newPhaseResult("x"), newPhaseResult("y")}}
	if err := merged.Merge(other); err == nil {
		t.Fatal("merge of different phases accepted")
	}
}
