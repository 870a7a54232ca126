package reports_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/reports"
)

// The runner fills a Report from what it measured and writes the run
// directory; Read brings report.json back.
func Example() {
	start := time.Date(2026, 6, 16, 7, 45, 0, 0, time.UTC)
	counts := loadgen.Counts{Attempts: 10, Outcomes: map[loadgen.Outcome]uint64{loadgen.OutcomeOK: 9, loadgen.OutcomeConnectTimeout: 1}}
	row := reports.Sample{T: 1, Phase: "peak", AttemptsPerSec: 10, OKPerSec: 9, ErrorsPerSec: 1,
		Outcomes: map[loadgen.Outcome]float64{loadgen.OutcomeOK: 9, loadgen.OutcomeConnectTimeout: 1},
		NAT:      map[string]reports.NATSample{"nat": {Conntrack: 9, PortUtilization: 0.04, IPForward: true}}}
	inject, revert := start.Add(200*time.Millisecond), start.Add(700*time.Millisecond)
	r := &reports.Report{
		Scenario: reports.Scenario{Name: "example"},
		Testbed:  reports.Testbed{Backend: "netns", Kernel: "6.18.0", RunID: "nl-1"},
		Verdict:  reports.VerdictFail,
		Started:  start, Duration: reports.Seconds(time.Second),
		Assertions: []reports.Assertion{{Name: "peak: error_rate < 1%", Observed: "10%", Expected: "< 1%", Source: "example.yaml:9"}},
		Totals:     reports.TotalsOf(counts),
		Faults:     []reports.Fault{{Name: "forwarding-off", Kind: "sysctl", Host: "nat", InjectedAt: &inject, RevertedAt: &revert}},
		Samples:    []reports.Sample{row},
	}
	dir, err := os.MkdirTemp("", "natlab-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	if err := reports.Write(dir, r); err != nil {
		fmt.Println(err)
		return
	}
	back, err := reports.Read(filepath.Join(dir, "report.json"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(back.Schema, back.Verdict, back.Totals.ErrorRate, back.Markers()[0].Kind)
	// Output: natlab.report/v1 fail 0.1 fault_injected
}
