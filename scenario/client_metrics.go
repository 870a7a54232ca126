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
	parts := strings.Split(name, ".")
	if parts[0] != "client" || len(parts) != 3 {
		return metricSpec{}, "", false
	}
	fields := sortedKeys(clientFields)
	if !slices.Contains(env.clients, parts[1]) {
		return metricSpec{}, "metric " + quote(name) + " names unknown client host " + quote(parts[1]) + ":" +
			didYouMean(parts[1], env.clients) + " client hosts are " + orNone(env.clients), true
	}
	s, ok := clientFields[parts[2]]
	if !ok {
		return metricSpec{}, "unknown client metric " + quote(name) + ":" + didYouMean(parts[2], fields) +
			" valid are client." + parts[1] + ".<" + strings.Join(fields, "|") + ">", true
	}
	return s, "", true
}

// clientValue is client.<host>.<field> over a window.
func clientValue(rest string, w Window) (float64, string) {
	name, field, _ := strings.Cut(rest, ".")
	c, ok := w.Clients[name]
	if !ok {
		return 0, fmt.Sprintf("client host %q ran no load here", name)
	}
	if field == "ok" {
		return float64(c.Of(loadgen.OutcomeOK)), ""
	}
	return countsValue(field, c, "client host "+name)
}

// countsValue is attempts, errors or error_rate of c, the attempts of
// who (cancelled ones left out; one still in flight counts as an error
// in the rate).
func countsValue(field string, c loadgen.Counts, who string) (float64, string) {
	ended := c.Ended() - c.Of(loadgen.OutcomeCancelled)
	errs := ended - c.Of(loadgen.OutcomeOK)
	switch field {
	case "attempts":
		return float64(c.Attempts), ""
	case "errors":
		return float64(errs), ""
	}
	all := ended + c.InFlight
	if all == 0 {
		return 0, "no attempt of " + who
	}
	return float64(errs+c.InFlight) / float64(all), ""
}
