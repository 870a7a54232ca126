package scenario

import (
	"fmt"
	"slices"
	"strings"

	"github.com/natlab/natlab/loadgen"
)

// clientFields are the fields of client.<host>.* metrics: the attempts
// of the loads a client host runs, as the whole window's client metrics
// count them, so that an assertion can say which block's hosts failed.
var clientFields = map[string]metricSpec{
	"attempts":   {kind: kindCount},
	"ok":         {kind: kindCount},
	"errors":     {kind: kindCount},
	"error_rate": {kind: kindRatio},
}

// lookupClientMetric types client.<host>.<field>; ok is false for other
// names.
func lookupClientMetric(name string, env metricEnv) (metricSpec, string, bool) {
	return lookupNamedMetric(name, "client", "client host", env.clients, clientFields)
}

// lookupNamedMetric types FAMILY.<name>.<field>, a metric of one named
// thing (an app, a client host) whose fields are fields; ok is false for
// other metrics.
func lookupNamedMetric(name, family, what string, names []string, fields map[string]metricSpec) (metricSpec, string, bool) {
	parts := strings.Split(name, ".")
	if parts[0] != family || len(parts) != 3 {
		return metricSpec{}, "", false
	}
	if !slices.Contains(names, parts[1]) {
		return metricSpec{}, "metric " + quote(name) + " names unknown " + what + " " + quote(parts[1]) + ":" +
			didYouMean(parts[1], names) + " " + what + "s are " + orNone(names), true
	}
	s, ok := fields[parts[2]]
	if !ok {
		keys := sortedKeys(fields)
		return metricSpec{}, "unknown " + family + " metric " + quote(name) + ":" + didYouMean(parts[2], keys) +
			" valid are " + family + "." + parts[1] + ".<" + strings.Join(keys, "|") + ">", true
	}
	s.ref, s.refName, s.field = family, parts[1], parts[2]
	return s, "", true
}

// clientValue is client.<host>.<field> over a window.
func clientValue(rest string, w Window) (float64, string) {
	name, field, _ := strings.Cut(rest, ".")
	c, ok := w.Clients[name]
	if !ok {
		return 0, fmt.Sprintf("client host %q ran no load here", name)
	}
	return countsValue(field, c, "client host "+name+" made no attempt")
}

// countsValue is attempts, ok, errors or error_rate of c (cancelled
// attempts left out), or none, saying none, when nothing ended.
func countsValue(field string, c loadgen.Counts, none string) (float64, string) {
	ended := c.Ended() - c.Of(loadgen.OutcomeCancelled)
	errs := ended - c.Of(loadgen.OutcomeOK)
	switch field {
	case "attempts":
		return float64(c.Attempts), ""
	case "ok":
		return float64(c.Of(loadgen.OutcomeOK)), ""
	case "errors":
		return float64(errs), ""
	}
	// An attempt still in flight at the end of the window has no outcome
	// yet; it counts as not ok, so lost attempts show.
	all := ended + c.InFlight
	if all == 0 {
		return 0, none
	}
	return float64(errs+c.InFlight) / float64(all), ""
}
