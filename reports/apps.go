package reports

import (
	"fmt"
	"strings"
	"time"
)

// App is what one app tier's callers saw and what the supervisor (the
// cloud's auto-recovery) did to its hosts over the run.
type App struct {
	Name  string `json:"name"`
	Zone  string `json:"zone,omitempty"`
	Block string `json:"block"`
	NAT   string `json:"nat"`
	Hosts int    `json:"hosts"`
	// Attempts and Errors are the calls of the app's callers (the
	// customer-facing side) and how many failed.
	Attempts  uint64  `json:"attempts"`
	Errors    uint64  `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
	// HealthCheckFailures are failed checks through the NAT; Restarts the
	// restarts they caused; BootAttempts every config fetch of every boot.
	HealthCheckFailures uint64 `json:"health_check_failures"`
	Restarts            uint64 `json:"restarts"`
	BootAttempts        uint64 `json:"boot_attempts"`
	// TimeToServe is the longest a restarted host took to serve again.
	TimeToServe Seconds `json:"time_to_serve_s"`
	// Serving is how many hosts served at the end of the run.
	Serving int `json:"serving"`
	// Restarted lists each restart: the host and when.
	Restarted []AppRestart `json:"restarted,omitempty"`
}

// AppRestart is one restart of an app host.
type AppRestart struct {
	Host string    `json:"host"`
	At   time.Time `json:"at"`
	// Error says why the restart failed (empty when it worked).
	Error string `json:"error,omitempty"`
}

var appHead = []string{"App", "Zone", "NAT", "Hosts", "Calls", "Error rate", "Failed checks", "Restarts", "Boot attempts", "Time to serve", "Serving at end"}

func (r *Report) appRows(text func(string) string) [][]string {
	rows := make([][]string, 0, len(r.Apps))
	for _, a := range r.Apps {
		tts := "-"
		if a.TimeToServe > 0 {
			tts = fmt.Sprintf("%.2f s", a.TimeToServe.Float())
		}
		rows = append(rows, []string{text(a.Name), text(a.Zone), text(a.NAT), fmt.Sprint(a.Hosts), humanCount(a.Attempts),
			humanPct(a.ErrorRate), humanCount(a.HealthCheckFailures), humanCount(a.Restarts), humanCount(a.BootAttempts), tts,
			fmt.Sprintf("%d of %d", a.Serving, a.Hosts)})
	}
	return rows
}

// restartLine says when the hosts of every app restarted, for the text
// reports ("app-a-1 +10.0s, app-a-2 +10.0s").
func (r *Report) restartLine(a App) string {
	var parts []string
	for _, x := range a.Restarted {
		s := x.Host + " " + r.humanOffset(x.At)
		if x.Error != "" {
			s += " (failed: " + x.Error + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// Candidate is one candidate sysctl.conf a NAT box got (a CI gate).
type Candidate struct {
	NAT  string `json:"nat"`
	File string `json:"file"`
	// Sysctls are its lines, "key = value (file:line)".
	Sysctls []string `json:"sysctls"`
	// Breaks names the lines known to break egress (ip_forward = 0).
	Breaks []string `json:"breaks,omitempty"`
	// IPForwardOff is how long the box's forwarding was seen off.
	IPForwardOff Seconds `json:"ip_forward_off_s"`
}
