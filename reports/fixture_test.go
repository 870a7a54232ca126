package reports

import (
	"math"
	"time"

	"github.com/natlab/natlab/loadgen"
)

var t0 = time.Date(2026, 6, 16, 7, 45, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func atp(s float64) *time.Time { t := at(s); return &t }

func ms(v float64) Seconds { return Seconds(time.Duration(v * float64(time.Millisecond))) }

// fixture is a fixed, complete run of the port-exhaustion incident: an offpeak phase,
// a peak phase that exhausts the NAT, an ip_forward=0 fault from 5s to 10s,
// a utilization alarm, one failing assertion. Some strings carry markup to
// prove that every format escapes them.
func fixture() *Report {
	r := &Report{
		Scenario: Scenario{Name: "nat-port-exhaustion",
			Description: "500 servers, no pooling, one NAT IP | ports run out at <peak> & stay out",
			File:        "fixtures/nat-port-exhaustion.yaml"},
		Testbed: Testbed{Backend: "netns", Kernel: "6.18.0-natlab", RunID: "nl-7f3a",
			NATs: []NATBox{
				{Name: "nat", IPs: []string{"198.19.0.10"}, Ports: "1024-1279", Mode: "managed", Hold: Seconds(120 * time.Second)},
				{Name: "nat-b", IPs: []string{"198.19.1.10", "198.19.1.11"}, Ports: "1024-2047", Mode: "plain"},
			}},
		Verdict:  VerdictFail,
		Started:  t0,
		Duration: Seconds(30 * time.Second),
		Assertions: []Assertion{
			{Name: "offpeak: error_rate < 0.1%", Passed: true, Observed: "0%", Expected: "< 0.1%", Source: "fixtures/nat-port-exhaustion.yaml:12:7"},
			{Name: "peak: nat.allocation_failures > 0", Passed: true, Observed: "312", Expected: "> 0", Source: "fixtures/nat-port-exhaustion.yaml:14:7"},
			{Name: "recovery after faults[0] within 5s: error_rate < 1%", Passed: false, Observed: "23.5% at +15.0s", Expected: "< 1% by +15.0s", Source: "fixtures/nat-port-exhaustion.yaml:15:7"},
		},
		NAT: []NATSummary{
			{Name: "nat", AllocationFailures: 312, PeakPortUtilization: 1, PeakConntrack: 402, PeakPortsInUse: 256, IPForwardOff: Seconds(5 * time.Second)},
			{Name: "nat-b", PeakPortUtilization: 0.125, PeakConntrack: 64, PeakPortsInUse: 128},
		},
		Faults: []Fault{
			{Name: "forwarding-off", Kind: "sysctl", Host: "nat", Description: "net.ipv4.ip_forward=0",
				InjectedAt: atp(5), RevertedAt: atp(10)},
			{Name: "flush", Kind: "conntrack_flush", Host: "nat", Description: "flush all <entries>",
				InjectedAt: atp(20), VerifyError: "entries came back: 12"},
		},
		Alarms: []Alarm{
			{Name: "ports-high", Metric: "nat.port_utilization", Threshold: "> 0.9 for 2s", FirstFired: atp(13)},
			{Name: "conntrack-full", Metric: "nat.conntrack", Threshold: "> 10000"},
		},
	}
	offpeak := loadgen.Counts{Attempts: 1000, Outcomes: map[loadgen.Outcome]uint64{loadgen.OutcomeOK: 990, loadgen.OutcomeConnectTimeout: 10}, NewConns: 990}
	peak := loadgen.Counts{Attempts: 2400, Outcomes: map[loadgen.Outcome]uint64{loadgen.OutcomeOK: 1800,
		loadgen.OutcomeConnectTimeout: 500, loadgen.OutcomeReset: 80, loadgen.OutcomeReadTimeout: 20}, NewConns: 1880, Lost: 3,
		LostBy: map[loadgen.Outcome]uint64{loadgen.OutcomeReset: 2, loadgen.OutcomeClosed: 1}}
	var total loadgen.Counts
	total.Add(offpeak)
	total.Add(peak)
	r.Totals = TotalsOf(total)
	r.Phases = []Phase{
		{Name: "offpeak", Start: at(0), End: at(10), Counts: TotalsOf(offpeak)},
		{Name: "peak", Start: at(10), End: at(30), Counts: TotalsOf(peak)},
	}
	r.Latency = Latency{
		Total: Timings{Connect: Quantiles{Count: 2790, P50: ms(0.4), P90: ms(1.2), P99: ms(1003), Max: ms(3010)},
			Request: Quantiles{Count: 2790, P50: ms(1.1), P90: ms(2.5), P99: ms(9.8), Max: ms(40)},
			Failed:  Quantiles{Count: 610, P50: ms(2000), P90: ms(2000), P99: ms(2004), Max: ms(2010)}},
		Phases: []PhaseTimings{
			{Phase: "offpeak", Timings: Timings{Connect: Quantiles{Count: 990, P50: ms(0.3), P90: ms(0.9), P99: ms(1.9), Max: ms(3.1)},
				Request: Quantiles{Count: 990, P50: ms(1), P90: ms(2), P99: ms(4.5), Max: ms(12)},
				Failed:  Quantiles{Count: 10, P50: ms(2000), P90: ms(2000), P99: ms(2001), Max: ms(2001)}}},
			{Phase: "peak", Timings: Timings{Connect: Quantiles{Count: 1800, P50: ms(0.5), P90: ms(1.5), P99: ms(1010), Max: ms(3010)},
				Request: Quantiles{Count: 1800, P50: ms(1.2), P90: ms(2.8), P99: ms(11), Max: ms(40)},
				Failed:  Quantiles{Count: 600, P50: ms(2000), P90: ms(2000), P99: ms(2004), Max: ms(2010)}}},
		},
	}
	for i := 1; i <= 30; i++ {
		t := float64(i)
		phase := "offpeak"
		if t > 10 {
			phase = "peak"
		}
		s := Sample{T: t, Phase: phase, AttemptsPerSec: 100, OKPerSec: 100, OpenConns: int64(i * 3),
			NewConnsPerSec: 100, ConnectP99: ms(0.8), RequestP99: ms(2.25),
			Outcomes: map[loadgen.Outcome]float64{loadgen.OutcomeOK: 100},
			NAT: map[string]NATSample{
				"nat":   {Conntrack: uint64(40 + i*12), PortUtilization: math.Min(1, float64(i)/20), PortsInUse: uint64(min(256, i*256/20)), IPForward: t <= 5 || t > 10},
				"nat-b": {Conntrack: 64, PortUtilization: 0.125, PortsInUse: 128, IPForward: true},
			}}
		if t > 5 && t <= 10 { // forwarding off: connect timeouts
			s.OKPerSec, s.ErrorsPerSec, s.ConnectP99, s.FailedP99 = 0, 2, ms(1003), ms(2001)
			s.Outcomes = map[loadgen.Outcome]float64{loadgen.OutcomeConnectTimeout: 2}
		}
		if t > 20 {
			s.OKPerSec, s.ErrorsPerSec = 76.5, 23.5
			s.Outcomes = map[loadgen.Outcome]float64{loadgen.OutcomeOK: 76.5, loadgen.OutcomeConnectTimeout: 19.5, loadgen.OutcomeReset: 4}
			s.FailedP99 = ms(2004)
			s.NAT["nat"] = NATSample{Conntrack: 402, AllocationFailures: 31, PortUtilization: 1, PortsInUse: 256, IPForward: true}
		}
		if i == 17 { // one tick without a reading of nat-b
			delete(s.NAT, "nat-b")
		}
		r.Samples = append(r.Samples, s)
	}
	return r
}
