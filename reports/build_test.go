package reports

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/loadgen"
)

func TestTotalsOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   loadgen.Counts
		want Totals
	}{
		{"empty", loadgen.Counts{}, Totals{Outcomes: OutcomeCounts{}}},
		// The 2 attempts in flight did not succeed: 4 of 12 not ok.
		{"mixed", loadgen.Counts{Attempts: 12, InFlight: 2, NewConns: 9, Lost: 1, LostBy: map[loadgen.Outcome]uint64{loadgen.OutcomeReset: 1}, Outcomes: map[loadgen.Outcome]uint64{
			loadgen.OutcomeOK: 8, loadgen.OutcomeReset: 2, loadgen.OutcomeRefused: 0}},
			Totals{Attempts: 12, OK: 8, Errors: 2, ErrorRate: 4.0 / 12, InFlight: 2, NewConns: 9, Lost: 1, LostBy: map[loadgen.Outcome]uint64{loadgen.OutcomeReset: 1},
				Outcomes: OutcomeCounts{loadgen.OutcomeOK: 8, loadgen.OutcomeReset: 2}}},
		{"all failed", loadgen.Counts{Attempts: 4, Outcomes: map[loadgen.Outcome]uint64{loadgen.OutcomeConnectTimeout: 4}},
			Totals{Attempts: 4, Errors: 4, ErrorRate: 1, Outcomes: OutcomeCounts{loadgen.OutcomeConnectTimeout: 4}}},
		{"all in flight", loadgen.Counts{Attempts: 3, InFlight: 3},
			Totals{Attempts: 3, ErrorRate: 1, InFlight: 3, Outcomes: OutcomeCounts{}}},
		// Counts that do not add up (Validate refuses them) still give a
		// rate in 0..1, the attempt without an outcome counted as not ok.
		{"attempt without an outcome", loadgen.Counts{Attempts: 10, Outcomes: map[loadgen.Outcome]uint64{loadgen.OutcomeOK: 9}},
			Totals{Attempts: 10, OK: 9, ErrorRate: 0.1, Outcomes: OutcomeCounts{loadgen.OutcomeOK: 9}}},
		{"more outcomes than attempts", loadgen.Counts{Attempts: 1, Outcomes: map[loadgen.Outcome]uint64{loadgen.OutcomeOK: 1, loadgen.OutcomeReset: 1}},
			Totals{Attempts: 1, OK: 1, Errors: 1, ErrorRate: 0.5, Outcomes: OutcomeCounts{loadgen.OutcomeOK: 1, loadgen.OutcomeReset: 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) { require.Equal(t, tc.want, TotalsOf(tc.in)) })
	}
}

func TestQuantilesOf(t *testing.T) {
	h := loadgen.NewHistogram()
	for i := 1; i <= 100; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	q := QuantilesOf(h)
	require.Equal(t, uint64(100), q.Count)
	require.InDelta(t, 0.050, q.P50.Float(), 0.0001)
	require.InDelta(t, 0.099, q.P99.Float(), 0.0001)
	require.InDelta(t, 0.100, q.Max.Float(), 0.0001)
	require.Equal(t, Quantiles{}, QuantilesOf(nil), "a nil histogram is an empty summary")
	tm := TimingsOf(loadgen.PhaseResult{Name: "peak", Connect: h})
	require.Equal(t, q, tm.Connect)
	require.Equal(t, Quantiles{}, tm.Request)
}

func TestMarkers(t *testing.T) {
	got := fixture().Markers()
	want := []Marker{
		{T: 0, Kind: MarkerPhase, Name: "offpeak"},
		{T: 5, Kind: MarkerFaultInjected, Name: "forwarding-off"},
		{T: 10, Kind: MarkerPhase, Name: "peak"},
		{T: 10, Kind: MarkerFaultReverted, Name: "forwarding-off"},
		{T: 13, Kind: MarkerAlarm, Name: "ports-high"},
		{T: 20, Kind: MarkerFaultInjected, Name: "flush"},
	}
	require.Equal(t, want, got)
	ws := fixture().faultWindows()
	require.Equal(t, []window{{name: "forwarding-off", from: 5, to: 10}, {name: "flush", from: 20, to: 30, open: true}}, ws)
}
