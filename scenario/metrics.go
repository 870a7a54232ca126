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
	for _, q := range quantiles {
		m["connect."+q] = metricSpec{kind: kindDuration, unit: time.Millisecond}
		m["request."+q] = metricSpec{kind: kindDuration, unit: time.Millisecond}
	}
	return m
}()

// Fields of backend.<name>.* and alarm.<name>.* metrics.
var (
	backendFields = []string{"accepted", "registrations_failed_closed", "listen_drops"}
	alarmFields   = []string{"fired", "fired_before_first_failure", "first_fired"}
)

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
	"nat.dropped_sent_packets_count.<OUT_OF_RESOURCES>, " +
	"backend.<name>.<accepted|registrations_failed_closed|listen_drops>, alarm.<name>.<fired|fired_before_first_failure|first_fired>"

// metricEnv is what a metric name may refer to.
type metricEnv struct {
	backends []string
	alarms   []string
}

// lookupMetric types an assertion metric, or explains why it is not one.
func lookupMetric(name string, env metricEnv) (metricSpec, string) {
	if s, ok := staticMetrics[name]; ok {
		return s, ""
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
	for _, o := range outcomeNames() {
		candidates = append(candidates, "outcomes."+o)
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
