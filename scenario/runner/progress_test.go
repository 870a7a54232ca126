package runner

import (
	"strings"
	"testing"
	"time"
)

// A missing NAT reading is shown as missing, never as 0.
func TestLiveLineSaysNATReadingMissing(t *testing.T) {
	l := Live{At: 3 * time.Second, Phase: "hold", PortUtilization: 0, Conntrack: 0, NATMissing: true}
	line := l.line()
	if !strings.Contains(line, "nat n/a") || strings.Contains(line, "conntrack") || strings.Contains(line, "0.0%") {
		t.Errorf("missing reading shown as %q, want nat n/a and no figures", line)
	}
	l = Live{At: 3 * time.Second, Phase: "hold", PortUtilization: 0.5, Conntrack: 64512}
	if line := l.line(); !strings.Contains(line, "nat ports  50.0%") || !strings.Contains(line, "conntrack  64512") {
		t.Errorf("present reading shown as %q", line)
	}
}
