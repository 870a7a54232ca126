package reports

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed/natcfg"
)

// csvWriter writes samples.csv: one row per tick, a stable set of columns.
type csvWriter struct{}

func (csvWriter) name() string { return "csv" }
func (csvWriter) file() string { return "samples.csv" }

// column is one CSV column: its header and how a sample fills it.
type column struct {
	head  string
	value func(s *Sample) string
}

func (csvWriter) write(w io.Writer, r *Report) error {
	cols := csvColumns(r)
	cw := csv.NewWriter(w)
	row := make([]string, len(cols))
	for i, c := range cols {
		row[i] = c.head
	}
	if err := cw.Write(row); err != nil {
		return fmt.Errorf("write csv header: %w", err)
	}
	for i := range r.Samples {
		for j, c := range cols {
			row[j] = c.value(&r.Samples[i])
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write csv row %d: %w", i+1, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// csvColumns lists the columns: the client figures, one rate per outcome
// other than ok (every outcome, so the columns do not depend on the run),
// then five columns per NAT box. Columns are only ever added at the end of
// their group, never renamed.
func csvColumns(r *Report) []column {
	cols := []column{
		{"t_s", func(s *Sample) string { return num(s.T, 3) }},
		{"phase", func(s *Sample) string { return s.Phase }},
		{"attempts_per_s", func(s *Sample) string { return num(s.AttemptsPerSec, 3) }},
		{"ok_per_s", func(s *Sample) string { return num(s.OKPerSec, 3) }},
		{"errors_per_s", func(s *Sample) string { return num(s.ErrorsPerSec, 3) }},
	}
	for _, o := range loadgen.AllOutcomes() {
		if o == loadgen.OutcomeOK {
			continue
		}
		cols = append(cols, column{o.String() + "_per_s", func(s *Sample) string { return num(s.Outcomes[o], 3) }})
	}
	cols = append(cols,
		column{"open_conns", func(s *Sample) string { return strconv.FormatInt(s.OpenConns, 10) }},
		column{"new_conns_per_s", func(s *Sample) string { return num(s.NewConnsPerSec, 3) }},
		column{"connect_p99_s", func(s *Sample) string { return num(s.ConnectP99.Float(), 6) }},
		column{"request_p99_s", func(s *Sample) string { return num(s.RequestP99.Float(), 6) }},
		column{"failed_p99_s", func(s *Sample) string { return num(s.FailedP99.Float(), 6) }},
	)
	for _, n := range natNames(r) {
		p := "nat." + n + "."
		cols = append(cols,
			natColumn(p+"conntrack", n, func(v NATSample) string { return strconv.FormatUint(v.Conntrack, 10) }),
			natColumn(p+"allocation_failures", n, func(v NATSample) string { return strconv.FormatUint(v.AllocationFailures, 10) }),
			natColumn(p+"port_utilization", n, func(v NATSample) string { return num(v.PortUtilization, 4) }),
			natColumn(p+"ip_forward", n, func(v NATSample) string { return bit(v.IPForward) }),
			natColumn(p+"ports_in_use", n, func(v NATSample) string { return strconv.FormatUint(v.PortsInUse, 10) }),
		)
		if awsNAT(r, n) {
			// An AWS NAT gateway's CloudWatch metrics, after the box's
			// other columns: the tick's rise, ActiveConnectionCount now.
			aws := func(f func(a *AWSMetrics) string) func(NATSample) string {
				return func(v NATSample) string {
					if v.AWS == nil {
						return ""
					}
					return f(v.AWS)
				}
			}
			u := func(x uint64) string { return strconv.FormatUint(x, 10) }
			cols = append(cols,
				natColumn(p+"ErrorPortAllocation", n, aws(func(a *AWSMetrics) string { return u(a.ErrorPortAllocation) })),
				natColumn(p+"PacketsDropCount", n, aws(func(a *AWSMetrics) string { return u(a.PacketsDropCount) })),
				natColumn(p+"ActiveConnectionCount", n, aws(func(a *AWSMetrics) string { return strconv.Itoa(a.ActiveConnectionCount) })),
				natColumn(p+"ConnectionAttemptCount", n, aws(func(a *AWSMetrics) string { return u(a.ConnectionAttemptCount) })),
				natColumn(p+"ConnectionEstablishedCount", n, aws(func(a *AWSMetrics) string { return u(a.ConnectionEstablishedCount) })),
				natColumn(p+"IdleTimeoutCount", n, aws(func(a *AWSMetrics) string { return u(a.IdleTimeoutCount) })),
			)
		}
		if gcpNAT(r, n) {
			cols = append(cols, gcpColumns(p, n)...)
		}
	}
	return cols
}

// natColumn is a column of NAT box nat; it is empty in a tick without a
// reading of that box (so a missing reading never looks like ip_forward=0).
func natColumn(head, nat string, f func(NATSample) string) column {
	return column{head, func(s *Sample) string {
		v, ok := s.NAT[nat]
		if !ok {
			return ""
		}
		return f(v)
	}}
}

// natNames lists the NAT boxes of the report: the testbed's in its order,
// then any other name found in the summaries or samples, sorted.
func natNames(r *Report) []string {
	var names []string
	for _, n := range r.Testbed.NATs {
		if !slices.Contains(names, n.Name) {
			names = append(names, n.Name)
		}
	}
	known := len(names)
	add := func(n string) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, n := range r.NAT {
		add(n.Name)
	}
	for _, s := range r.Samples {
		for n := range s.NAT {
			add(n)
		}
	}
	sort.Strings(names[known:])
	return names
}

// num formats v with at most prec decimals and no trailing zeros.
func num(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if prec > 0 {
		for s[len(s)-1] == '0' {
			s = s[:len(s)-1]
		}
		if s[len(s)-1] == '.' {
			s = s[:len(s)-1]
		}
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

func bit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// ReadSamples reads the time series back from samples.csv (for a
// report.json without samples). Unknown columns are ignored, so a file of
// a later natlab of the same schema still reads; an empty NAT cell is a
// tick without a reading of that box.
func ReadSamples(rd io.Reader) ([]Sample, error) {
	cr := csv.NewReader(rd)
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read samples: header: %w", err)
	}
	outcomes := map[string]loadgen.Outcome{}
	for _, o := range loadgen.AllOutcomes() {
		outcomes[o.String()+"_per_s"] = o
	}
	var out []Sample
	for line := 2; ; line++ {
		row, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read samples: %w", err)
		}
		s := Sample{Outcomes: map[loadgen.Outcome]float64{}, NAT: map[string]NATSample{}}
		var errs []error
		f := func(v string) float64 {
			if v == "" {
				return 0
			}
			x, err := strconv.ParseFloat(v, 64)
			errs = append(errs, err)
			return x
		}
		u := func(v string) uint64 {
			x, err := strconv.ParseUint(v, 10, 64)
			errs = append(errs, err)
			return x
		}
		for i, h := range head {
			if i >= len(row) {
				break
			}
			v := row[i]
			switch h {
			case "t_s":
				s.T = f(v)
			case "phase":
				s.Phase = v
			case "attempts_per_s":
				s.AttemptsPerSec = f(v)
			case "ok_per_s":
				s.OKPerSec = f(v)
				if s.OKPerSec != 0 {
					s.Outcomes[loadgen.OutcomeOK] = s.OKPerSec
				}
			case "errors_per_s":
				s.ErrorsPerSec = f(v)
			case "open_conns":
				n, err := strconv.ParseInt(v, 10, 64)
				errs = append(errs, err)
				s.OpenConns = n
			case "new_conns_per_s":
				s.NewConnsPerSec = f(v)
			case "connect_p99_s":
				s.ConnectP99 = secondsOf(f(v))
			case "request_p99_s":
				s.RequestP99 = secondsOf(f(v))
			case "failed_p99_s":
				s.FailedP99 = secondsOf(f(v))
			default:
				if o, ok := outcomes[h]; ok {
					if x := f(v); x != 0 {
						s.Outcomes[o] = x
					}
					continue
				}
				rest, ok := strings.CutPrefix(h, "nat.")
				dot := strings.LastIndex(rest, ".")
				if !ok || dot < 0 || v == "" {
					continue
				}
				name, field := rest[:dot], rest[dot+1:]
				if box, reason, ok := strings.Cut(rest, "."+gcpDropColumn+"."); ok {
					name, field = box, gcpDropColumn+"."+reason
				}
				n := s.NAT[name]
				if readGCPColumn(&n, field, v, u, f) {
					s.NAT[name] = n
					continue
				}
				switch field {
				case "conntrack":
					n.Conntrack = u(v)
				case "allocation_failures":
					n.AllocationFailures = u(v)
				case "port_utilization":
					n.PortUtilization = f(v)
				case "ip_forward":
					n.IPForward = v == "1"
				case "ports_in_use":
					n.PortsInUse = u(v)
				default:
					continue
				}
				s.NAT[name] = n
			}
		}
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("read samples: line %d: %w", line, err)
		}
		out = append(out, s)
	}
}

func secondsOf(f float64) Seconds { return Seconds(time.Duration(math.Round(f * 1e9))) }

// awsNAT reports whether NAT box n is an AWS NAT gateway: its summary or a
// sample carries the gateway's metrics.
func awsNAT(r *Report, n string) bool {
	for _, s := range r.NAT {
		if s.Name == n && s.AWS != nil {
			return true
		}
	}
	for i := range r.Samples {
		if v, ok := r.Samples[i].NAT[n]; ok && v.AWS != nil {
			return true
		}
	}
	return false
}

// gcpDropColumn starts the name of a Cloud NAT drop column: one per
// reason, nat.BOX.dropped_sent_packets_count.REASON.
const gcpDropColumn = "dropped_sent_packets_count"

// gcpColumns are a Cloud NAT's columns, after the box's other columns:
// allocated_ports and port_usage of the VM with the most and open
// connections at the tick's end, nat_allocation_failed (1 or 0), and the
// counts' rise in the tick, drops one column per reason.
func gcpColumns(p, n string) []column {
	gcp := func(f func(g *GCPMetrics) string) func(NATSample) string {
		return func(v NATSample) string {
			if v.GCP == nil {
				return ""
			}
			return f(v.GCP)
		}
	}
	cols := []column{
		natColumn(p+"allocated_ports", n, gcp(func(g *GCPMetrics) string { return strconv.Itoa(g.AllocatedPorts) })),
		natColumn(p+"port_usage", n, gcp(func(g *GCPMetrics) string { return strconv.Itoa(g.PortUsage) })),
		natColumn(p+"nat_allocation_failed", n, gcp(func(g *GCPMetrics) string { return bit(g.AllocationFailed) })),
	}
	for _, reason := range natcfg.DropReasons {
		cols = append(cols, natColumn(p+gcpDropColumn+"."+reason, n,
			gcp(func(g *GCPMetrics) string { return strconv.FormatUint(g.DroppedSent[reason], 10) })))
	}
	return append(cols,
		natColumn(p+"new_connections_count", n, gcp(func(g *GCPMetrics) string { return strconv.FormatUint(g.NewConnections, 10) })),
		natColumn(p+"open_connections", n, gcp(func(g *GCPMetrics) string { return strconv.Itoa(g.OpenConnections) })),
	)
}

// readGCPColumn reads a Cloud NAT cell of samples.csv into n; it is false
// for the box's other columns.
func readGCPColumn(n *NATSample, field, v string, u func(string) uint64, f func(string) float64) bool {
	g := n.GCP
	if g == nil {
		g = &GCPMetrics{DroppedSent: map[string]uint64{}}
	}
	switch field {
	case "allocated_ports":
		g.AllocatedPorts = int(f(v))
	case "port_usage":
		g.PortUsage = int(f(v))
	case "nat_allocation_failed":
		g.AllocationFailed = v == "1"
	case "new_connections_count":
		g.NewConnections = u(v)
	case "open_connections":
		g.OpenConnections = int(f(v))
	default:
		reason, ok := strings.CutPrefix(field, gcpDropColumn+".")
		if !ok {
			return false
		}
		g.DroppedSent[reason] = u(v)
	}
	n.GCP = g
	return true
}

// gcpNAT reports whether NAT box n is a Cloud NAT: its summary or a
// sample carries Cloud NAT's metrics.
func gcpNAT(r *Report, n string) bool {
	for _, s := range r.NAT {
		if s.Name == n && s.GCP != nil {
			return true
		}
	}
	for i := range r.Samples {
		if v, ok := r.Samples[i].NAT[n]; ok && v.GCP != nil {
			return true
		}
	}
	return false
}
