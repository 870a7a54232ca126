package reports

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/natlab/natlab/testbed/natcfg"
)

// Rows shared by the markdown and HTML tables. esc escapes the free text of
// the target format (figures need no escaping).

// runLine says where and when the run happened.
func (r *Report) runLine() string {
	parts := []string{}
	if r.Testbed.Backend != "" {
		parts = append(parts, "backend "+r.Testbed.Backend)
	}
	if r.Testbed.Kernel != "" {
		parts = append(parts, "kernel "+r.Testbed.Kernel)
	}
	if r.Testbed.RunID != "" {
		parts = append(parts, "run "+r.Testbed.RunID)
	}
	if !r.Started.IsZero() {
		parts = append(parts, "started "+humanTime(r.Started))
	}
	parts = append(parts, "lasted "+humanDur(r.Duration))
	if r.Scenario.File != "" {
		parts = append(parts, "scenario file "+r.Scenario.File)
	}
	return strings.Join(parts, ", ")
}

// loadRows are one row per phase and a total row.
func (r *Report) loadRows(esc func(string) string) [][]string {
	timings := map[string]Timings{}
	for _, p := range r.Latency.Phases {
		timings[p.Phase] = p.Timings
	}
	row := func(name string, c Totals, t Timings) []string {
		return []string{esc(name), humanCount(c.Attempts), humanCount(c.OK), humanCount(c.Errors),
			humanPct(c.ErrorRate), humanDur(t.Connect.P99), humanDur(t.Request.P99), failedP99(t.Failed)}
	}
	rows := make([][]string, 0, len(r.Phases)+1)
	for _, p := range r.Phases {
		rows = append(rows, row(p.Name, p.Counts, timings[p.Name]))
	}
	return append(rows, row("total", r.Totals, r.Latency.Total))
}

// share writes n as a share of all attempts, the ones still in flight
// included.
func (r *Report) share(n uint64) string {
	if r.Totals.Attempts == 0 {
		return "-"
	}
	return humanPct(float64(n) / float64(r.Totals.Attempts))
}

// inFlightName names the row of the outcome tables for the attempts that
// never ended (an incomplete run's).
const inFlightName = "in flight (no outcome)"

// outcomeRow is a row of the outcome tables.
type outcomeRow struct {
	Name string
	// Outcome is false for the in-flight row, whose name is no outcome's.
	Outcome      bool
	Count, Share string
}

// outcomeRows are one row per outcome that occurred, then one for the
// attempts still in flight if any, with their share of all attempts.
func (r *Report) outcomeRows() []outcomeRow {
	var rows []outcomeRow
	for _, o := range r.Totals.Outcomes.NonZero() {
		n := r.Totals.Outcomes[o]
		rows = append(rows, outcomeRow{Name: o.String(), Outcome: true, Count: humanCount(n), Share: r.share(n)})
	}
	if n := r.Totals.InFlight; n > 0 {
		rows = append(rows, outcomeRow{Name: inFlightName, Count: humanCount(n), Share: r.share(n)})
	}
	return rows
}

// natRows are one row per NAT box.
func (r *Report) natRows(esc func(string) string) [][]string {
	rows := make([][]string, 0, len(r.NAT))
	for _, n := range r.NAT {
		off := "never"
		if n.IPForwardOff > 0 {
			off = humanDur(n.IPForwardOff)
		}
		rows = append(rows, []string{esc(n.Name), humanCount(n.AllocationFailures),
			humanCount(n.PeakPortsInUse), humanPct(n.PeakPortUtilization), humanCount(n.PeakConntrack), off})
	}
	return rows
}

// natBoxLine describes the configuration of a NAT box.
func natBoxLine(n NATBox) string {
	s := fmt.Sprintf("%s: %d NAT IP(s) %s, ports %s, %s", n.Name, len(n.IPs), strings.Join(n.IPs, " "), n.Ports, n.Mode)
	if n.Hold > 0 {
		s += ", hold " + humanDur(n.Hold)
	}
	return s
}

// loadHead and natHead are the headers of the load and NAT tables.
var (
	loadHead = []string{"Phase", "Attempts", "ok", "Errors", "Error rate", "Connect p99", "Request p99", "Failed p99"}
	natHead  = []string{"NAT", "Allocation failures", "Peak ports in use", "Peak port utilization", "Peak conntrack", "ip_forward off"}
)

// failedP99 writes the p99 of the failed attempts, "-" when none failed
// (a 0 would read as "failed at once").
func failedP99(q Quantiles) string {
	if q.Count == 0 {
		return "-"
	}
	return humanDur(q.P99)
}

// awsLines say, per AWS NAT gateway, its CloudWatch metrics over the run;
// name quotes a box name for the format.
func (r *Report) awsLines(name func(string) string) []string {
	var out []string
	for _, n := range r.NAT {
		if a := n.AWS; a != nil {
			out = append(out, fmt.Sprintf("NAT gateway %s, CloudWatch metrics over the run: ErrorPortAllocation %d, PacketsDropCount %d, ActiveConnectionCount (max) %d, ConnectionAttemptCount %d, ConnectionEstablishedCount %d, IdleTimeoutCount %d.",
				name(n.Name), a.ErrorPortAllocation, a.PacketsDropCount, a.ActiveConnectionCount, a.ConnectionAttemptCount, a.ConnectionEstablishedCount, a.IdleTimeoutCount))
		}
	}
	return out
}

// gcpBox is what the reports say of one Cloud NAT: its metrics over the
// run in a line, and a row per VM.
type gcpBox struct {
	Line string
	VMs  [][]string
}

// gcpVMHead is the header of a Cloud NAT's table of VMs.
var gcpVMHead = []string{"VM", "Peak allocated_ports", "Peak port_usage"}

// gcpBoxes say, per Cloud NAT, its metrics over the run under their Cloud
// Monitoring names, and each VM's peak allocation and usage; name quotes
// a box name for the format.
func (r *Report) gcpBoxes(name func(string) string) []gcpBox {
	var out []gcpBox
	for _, n := range r.NAT {
		g := n.GCP
		if g == nil {
			continue
		}
		drops := make([]string, 0, len(natcfg.DropReasons))
		for _, reason := range natcfg.DropReasons {
			drops = append(drops, fmt.Sprintf("%s %d", reason, g.DroppedSent[reason]))
		}
		b := gcpBox{Line: fmt.Sprintf("Cloud NAT %s, metrics over the run: allocated_ports (max VM) %d, port_usage (max VM) %d, nat_allocation_failed %t, dropped_sent_packets_count %s, new_connections_count %d, open_connections (max) %d.",
			name(n.Name), g.AllocatedPorts, g.PortUsage, g.AllocationFailed, strings.Join(drops, ", "), g.NewConnections, g.OpenConnections)}
		for _, vm := range g.VMs {
			b.VMs = append(b.VMs, []string{vm.VM, strconv.Itoa(vm.AllocatedPorts), strconv.Itoa(vm.PortUsage)})
		}
		out = append(out, b)
	}
	return out
}
