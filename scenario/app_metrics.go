package scenario

import (
	"fmt"
	"strings"
	"time"

	"github.com/natlab/natlab/loadgen"
)

// AppStats are one app tier's figures over a window: what its callers
// saw (the customer-facing side) and what the supervisor did.
type AppStats struct {
	// Counts are the attempts of the loads that called the app.
	Counts loadgen.Counts `json:"counts"`
	// HealthCheckFailures and Restarts are the supervisor's failed checks
	// (through the NAT) and the restarts they caused, in the window.
	HealthCheckFailures uint64 `json:"health_check_failures"`
	Restarts            uint64 `json:"restarts"`
	// BootAttempts counts the config fetches of every boot of the app's
	// hosts over the whole run, the first boots included.
	BootAttempts uint64 `json:"boot_attempts"`
	// TimeToServe is the longest a restarted host took from its boot to
	// serving, over the whole run (0 when no host restarted).
	TimeToServe time.Duration `json:"time_to_serve"`
	// Serving is how many of its hosts served at the end of the run.
	Serving int `json:"serving"`
}

// appFields are the fields of app.<name>.* metrics, with their kinds.
var appFields = map[string]metricSpec{
	"attempts":              {kind: kindCount},
	"errors":                {kind: kindCount},
	"error_rate":            {kind: kindRatio},
	"health_check_failures": {kind: kindCount},
	"restarts":              {kind: kindCount},
	"boot_attempts":         {kind: kindCount},
	"time_to_serve":         {kind: kindDuration, unit: time.Second},
	"serving":               {kind: kindCount},
}

// lookupAppMetric types app.<name>.<field>; ok is false for other names.
func lookupAppMetric(name string, env metricEnv) (metricSpec, string, bool) {
	return lookupNamedMetric(name, "app", "app", env.apps, appFields)
}

// appValue returns app.<name>.<field> of a window.
func appValue(rest string, w Window) (float64, string) {
	name, field, _ := strings.Cut(rest, ".")
	a, ok := w.Apps[name]
	if !ok {
		return 0, fmt.Sprintf("app %q reported nothing", name)
	}
	switch field {
	case "attempts", "errors", "error_rate":
		return countsValue(field, a.Counts, "no attempt called app "+name)
	case "health_check_failures":
		return float64(a.HealthCheckFailures), ""
	case "restarts":
		return float64(a.Restarts), ""
	case "boot_attempts":
		return float64(a.BootAttempts), ""
	case "time_to_serve":
		return float64(a.TimeToServe), ""
	case "serving":
		return float64(a.Serving), ""
	}
	return 0, fmt.Sprintf("unknown app metric %q", field)
}
