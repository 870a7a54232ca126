package scenario

import (
	"slices"
	"strings"
	"time"

	"github.com/natlab/natlab/loadgen"
)

// metricKind is the type of a metric's values.
type metricKind int

const (
	kindCount    metricKind = iota // a whole number of events
	kindRatio                      // a fraction; written as 0.001 or 0.1%
	kindRate                       // events per second
	kindDuration                   // nanoseconds; written as 250ms (a bare number has the metric's unit)
	kindBool                       // 1 or 0; written as true or false
)

// metricSpec says how a metric is typed and, for duration metrics, what a
// bare number means.
type metricSpec struct {
	kind metricKind
	unit time.Duration
	// ref is "backend" or "alarm" for metrics naming one, with its name.
	ref, refName string
	// field is the last part of a backend or alarm metric.
	field string
}

// quantiles are the latency summaries of connect.* and request.*.
var quantiles = []string{"p50", "p90", "p95", "p99", "p999", "max", "mean"}

// staticMetrics are the assertion metrics without a name inside.
var staticMetrics = func() map[string]metricSpec {
	m := map[string]metricSpec{
		"attempts":                   {kind: kindCount},
		"ok":                         {kind: kindCount},
		"errors":                     {kind: kindCount},
		"error_rate":                 {kind: kindRatio},
		"throughput":                 {kind: kindRate},
		"lost":                       {kind: kindCount},
		"new_conns":                  {kind: kindCount},
		"first_failure":              {kind: kindDuration, unit: time.Second},
		"last_failure":               {kind: kindDuration, unit: time.Second},
		"nat.allocation_failures":    {kind: kindCount},
		"nat.peak_port_utilization":  {kind: kindRatio},
		"nat.peak_conntrack":         {kind: kindCount},
		"nat.ip_forward_off_seconds": {kind: kindDuration, unit: time.Second},
	}
	for name, spec := range gcpMetrics {
		m[name] = spec
	}
	for name, spec := range awsMetrics {
		m[name] = spec
	}
	for _, q := range quantiles {
		m["connect."+q] = metricSpec{kind: kindDuration, unit: time.Millisecond}
		m["request."+q] = metricSpec{kind: kindDuration, unit: time.Millisecond}
	}
	return m
}()

// Fields of backend.<name>.* and alarm.<name>.* metrics.
var (
	backendFields = append(sortedKeys(backendCounters), sortedKeys(backendPeaks)...)
	alarmFields   = []string{"fired", "fired_before_first_failure", "first_fired"}
	// faultFields are the figures of a nat-config fault: its effects on
	// live connections, predicted before the change and observed after.
	faultFields = []string{"predicted_resets", "predicted_dropped", "observed_resets", "observed_dropped"}
	// vmStartFields are the figures of a vm-start fault: how many of its
	// VMs got a block, and how many found none and waited.
	vmStartFields = []string{"allocated", "waiting"}
)

// failingAfter is the metric of every fault that says how long failures
// went on after its inject.
const failingAfter = "failing_after"

// FaultKindVMStart is the fault kind whose allocation fault.<name>.*
// metrics read (chaos registers it).
const FaultKindVMStart = "vm-start"

// FaultKindNATConfig is the fault kind whose effects fault.<name>.*
// metrics read (chaos registers it).
const FaultKindNATConfig = "nat-config"

// tickMetrics can be judged on a single tick: the metrics of a recovery.
var tickMetrics = []string{"attempts", "ok", "errors", "error_rate", "throughput"}

// alarmMetrics are the live metrics an alarm may watch, sampled every tick.
var alarmMetrics = map[string]metricSpec{
	"attempts":                {kind: kindCount},
	"ok":                      {kind: kindCount},
	"errors":                  {kind: kindCount},
	"error_rate":              {kind: kindRatio},
	"throughput":              {kind: kindRate},
	"open_conns":              {kind: kindCount},
	"connect.p99":             {kind: kindDuration, unit: time.Millisecond},
	"request.p99":             {kind: kindDuration, unit: time.Millisecond},
	"nat.port_utilization":    {kind: kindRatio},
	"nat.conntrack":           {kind: kindCount},
	"nat.allocation_failures": {kind: kindCount},
	"nat.ip_forward":          {kind: kindCount},
}

func init() {
	for name, spec := range gcpMetrics {
		alarmMetrics[name] = spec
	}
	for name, spec := range awsMetrics {
		alarmMetrics[name] = spec
	}
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// metricsHelp lists the assertion metrics for messages.
const metricsHelp = "attempts, ok, errors, error_rate, throughput, lost, lost.<class>, new_conns, first_failure, last_failure, outcomes.<class>, " +
	"connect.<p50|p90|p95|p99|p999|max|mean>, request.<same>, nat.allocation_failures, " +
	"nat.peak_port_utilization, nat.peak_conntrack, nat.ip_forward_off_seconds, " +
	"nat.<allocated_ports|port_usage|nat_allocation_failed|dropped_sent_packets_count|new_connections_count|open_connections> (gcp-cloud-nat), " +
	"nat.dropped_sent_packets_count.<OUT_OF_RESOURCES|ENDPOINT_INDEPENDENCE_CONFLICT>, " +
	"nat.<ErrorPortAllocation|PacketsDropCount|ActiveConnectionCount|ConnectionAttemptCount|ConnectionEstablishedCount|IdleTimeoutCount> (aws-nat-gateway), " +
	"backend.<name>.<accepted|registrations|registrations_failed_closed|listen_drops|peer_resets|holepunch_requests|verifications|" +
	"mapping_changed|failed_clients|dependency_timeouts|probe_timeouts|dependency_peak_in_use|dependency_peak_queue>, alarm.<name>.<fired|fired_before_first_failure|first_fired>, " +
	"app.<name>.<attempts|errors|error_rate|health_check_failures|restarts|boot_attempts|time_to_serve|serving>, " +
	"client.<host>.<attempts|ok|errors|error_rate>, " +
	"fault.<name>.<predicted_resets|predicted_dropped|observed_resets|observed_dropped> (nat-config), fault.<name>.<allocated|waiting> (vm-start), fault.<name>.failing_after (any fault)"

// metricEnv is what a metric name may refer to.
type metricEnv struct {
	backends []string
	alarms   []string
	apps     []string
	// faults are the names of every fault; natConfigs those of kind
	// nat-config, vmStarts those of kind vm-start.
	faults, natConfigs, vmStarts []string
	// clients are the client hosts' names (client.<host>.*).
	clients []string
}

// lookupMetric types an assertion metric, or explains why it is not one.
func lookupMetric(name string, env metricEnv) (metricSpec, string) {
	if s, ok := staticMetrics[name]; ok {
		return s, ""
	}
	if s, why, ok := lookupClientMetric(name, env); ok {
		return s, why
	}
	if s, why, ok := lookupAppMetric(name, env); ok {
		return s, why
	}
	parts := strings.Split(name, ".")
	switch {
	case (parts[0] == "outcomes" || parts[0] == "lost") && len(parts) == 2:
		if _, err := loadgen.ParseOutcome(parts[1]); err != nil {
			names := outcomeNames()
			return metricSpec{}, "unknown outcome class " + quote(parts[1]) + " in " + quote(name) + ":" +
				didYouMean(parts[1], names) + " valid classes are " + strings.Join(names, ", ")
		}
		return metricSpec{kind: kindCount}, ""
	case parts[0] == "backend" && len(parts) == 3:
		if !slices.Contains(env.backends, parts[1]) {
			return metricSpec{}, "metric " + quote(name) + " names unknown backend " + quote(parts[1]) + ":" +
				didYouMean(parts[1], env.backends) + " backends are " + orNone(env.backends)
		}
		if !slices.Contains(backendFields, parts[2]) {
			return metricSpec{}, "unknown backend metric " + quote(name) + ":" + didYouMean(parts[2], backendFields) +
				" valid are backend." + parts[1] + ".<" + strings.Join(backendFields, "|") + ">"
		}
		return metricSpec{kind: kindCount, ref: "backend", refName: parts[1], field: parts[2]}, ""
	case parts[0] == "alarm" && len(parts) == 3:
		if !slices.Contains(env.alarms, parts[1]) {
			return metricSpec{}, "metric " + quote(name) + " names unknown alarm " + quote(parts[1]) + ":" +
				didYouMean(parts[1], env.alarms) + " alarms are " + orNone(env.alarms)
		}
		s := metricSpec{kind: kindBool, ref: "alarm", refName: parts[1], field: parts[2]}
		switch parts[2] {
		case "fired", "fired_before_first_failure":
		case "first_fired":
			s.kind, s.unit = kindDuration, time.Second
		default:
			return metricSpec{}, "unknown alarm metric " + quote(name) + ":" + didYouMean(parts[2], alarmFields) +
				" valid are alarm." + parts[1] + ".<" + strings.Join(alarmFields, "|") + ">"
		}
		return s, ""
	case parts[0] == "fault" && len(parts) == 3 && parts[2] == failingAfter && slices.Contains(env.faults, parts[1]):
		return metricSpec{kind: kindDuration, unit: time.Second, ref: "fault", refName: parts[1], field: parts[2]}, ""
	case parts[0] == "fault" && len(parts) == 3 && slices.Contains(env.vmStarts, parts[1]):
		if !slices.Contains(vmStartFields, parts[2]) {
			return metricSpec{}, "unknown fault metric " + quote(name) + ":" + didYouMean(parts[2], vmStartFields) +
				" valid are fault." + parts[1] + ".<" + strings.Join(vmStartFields, "|") + ">"
		}
		return metricSpec{kind: kindCount, ref: "fault", refName: parts[1], field: parts[2]}, ""
	case parts[0] == "fault" && len(parts) == 3:
		if !slices.Contains(env.natConfigs, parts[1]) {
			all := append(slices.Clone(env.natConfigs), env.vmStarts...)
			return metricSpec{}, "metric " + quote(name) + " names " + quote(parts[1]) + ", which is no fault of kind " + FaultKindNATConfig + " or " + FaultKindVMStart + ":" +
				didYouMean(parts[1], all) + " those faults are " + orNone(all)
		}
		if !slices.Contains(faultFields, parts[2]) {
			return metricSpec{}, "unknown fault metric " + quote(name) + ":" + didYouMean(parts[2], faultFields) +
				" valid are fault." + parts[1] + ".<" + strings.Join(faultFields, "|") + ">"
		}
		return metricSpec{kind: kindCount, ref: "fault", refName: parts[1], field: parts[2]}, ""
	}
	candidates := sortedKeys(staticMetrics)
	for _, b := range env.backends {
		for _, f := range backendFields {
			candidates = append(candidates, "backend."+b+"."+f)
		}
	}
	for _, a := range env.alarms {
		for _, f := range alarmFields {
			candidates = append(candidates, "alarm."+a+"."+f)
		}
	}
	for _, f := range env.natConfigs {
		for _, x := range faultFields {
			candidates = append(candidates, "fault."+f+"."+x)
		}
	}
	for _, f := range env.faults {
		candidates = append(candidates, "fault."+f+"."+failingAfter)
	}
	for _, f := range env.vmStarts {
		for _, x := range vmStartFields {
			candidates = append(candidates, "fault."+f+"."+x)
		}
	}
	for _, o := range outcomeNames() {
		candidates = append(candidates, "outcomes."+o)
	}
	for _, a := range env.apps {
		for _, f := range sortedKeys(appFields) {
			candidates = append(candidates, "app."+a+"."+f)
		}
	}
	return metricSpec{}, "unknown metric " + quote(name) + ":" + didYouMean(name, candidates) + " valid metrics are " + metricsHelp
}

// outcomeNames lists loadgen's outcome classes.
func outcomeNames() []string {
	var out []string
	for _, o := range loadgen.AllOutcomes() {
		out = append(out, o.String())
	}
	return out
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
