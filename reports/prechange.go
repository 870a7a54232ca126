package reports

import "fmt"

// preChangeHead heads the pre-change check of live NAT config changes:
// what the NAT read just before each change, the resets and drops it
// predicted from conntrack then, and what the kernel counted after it.
var preChangeHead = []string{"Fault", "Read at", "Port utilization before", "port_usage / allocated_ports before",
	"Resets predicted", "Resets observed", "Dropped predicted", "Dropped observed"}

// preChangeRows are the rows of the pre-change check, one per nat-config
// fault, each cell passed through text (escaping for markdown).
func (r *Report) preChangeRows(text func(string) string) [][]string {
	var rows [][]string
	for _, f := range r.Faults {
		e := f.Effects
		if e == nil {
			continue
		}
		at, util, ports := "no reading", "-", "-"
		if b := e.Before; b != nil {
			at, util = fmt.Sprintf("+%.1fs", b.T), humanPct(b.PortUtilization)
			if b.PortUsage != nil && b.AllocatedPorts != nil {
				ports = fmt.Sprintf("%d / %d", *b.PortUsage, *b.AllocatedPorts)
				if *b.AllocatedPorts > 0 {
					ports += fmt.Sprintf(" (%s)", humanPct(float64(*b.PortUsage)/float64(*b.AllocatedPorts)))
				}
			}
		}
		rows = append(rows, []string{text(f.Name), at, util, text(ports), fmt.Sprint(e.PredictedResets), observedCount(e.ObservedResets),
			fmt.Sprint(e.PredictedDropped), observedCount(e.ObservedDropped)})
	}
	return rows
}
