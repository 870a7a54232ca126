package reports

import (
	"fmt"
	"strconv"
	"time"
)

// Human-readable figures shared by the markdown and HTML reports.

// humanDur writes a latency or duration with a unit that suits it.
func humanDur(s Seconds) string {
	d := s.D()
	switch {
	case d == 0:
		return "0"
	case d < time.Millisecond:
		return num(float64(d)/float64(time.Microsecond), 0) + " µs"
	case d < time.Second:
		return num(float64(d)/float64(time.Millisecond), 1) + " ms"
	default:
		return num(d.Seconds(), 2) + " s"
	}
}

// humanPct writes a ratio as a percentage.
func humanPct(v float64) string {
	switch {
	case v == 0:
		return "0%"
	case v < 0.001:
		return num(v*100, 3) + "%"
	default:
		return num(v*100, 1) + "%"
	}
}

// humanOffset writes a time of the run as seconds since its start.
func (r *Report) humanOffset(t time.Time) string {
	return "+" + num(r.offset(t), 1) + "s"
}

// humanTime writes an absolute time in UTC, to the second.
func humanTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

// humanCount writes a count with thousands separators.
func humanCount(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// verdictWord is the clear marker of a verdict: PASS, FAIL or INCOMPLETE.
func verdictWord(v Verdict) string {
	switch v {
	case VerdictPass:
		return "PASS"
	case VerdictFail:
		return "FAIL"
	case VerdictIncomplete:
		return "INCOMPLETE"
	}
	return fmt.Sprintf("UNKNOWN (%s)", string(v))
}

// result is the result column of an assertion.
func result(passed bool) string {
	if passed {
		return "PASS"
	}
	return "FAIL"
}

// failedCount counts the assertions that failed.
func (r *Report) failedCount() int {
	n := 0
	for _, a := range r.Assertions {
		if !a.Passed {
			n++
		}
	}
	return n
}

// summaryLine is the one-sentence verdict of the run.
func (r *Report) summaryLine() string {
	switch {
	case r.Verdict == VerdictIncomplete:
		return fmt.Sprintf("INCOMPLETE: the run stopped early: %s (%d of %d assertions failed)",
			r.Incomplete, r.failedCount(), len(r.Assertions))
	case len(r.Assertions) == 0:
		return verdictWord(r.Verdict) + ": no assertions"
	case r.failedCount() == 0:
		return fmt.Sprintf("PASS: all %d assertions held", len(r.Assertions))
	default:
		return fmt.Sprintf("%s: %d of %d assertions failed", verdictWord(r.Verdict), r.failedCount(), len(r.Assertions))
	}
}

// windowEnd writes when a fault was reverted, or that it never was.
func (r *Report) windowEnd(f Fault) string {
	switch {
	case f.InjectedAt == nil:
		return "not injected"
	case f.RevertedAt == nil:
		return "not reverted"
	default:
		return r.humanOffset(*f.RevertedAt)
	}
}

// faultStart writes when a fault was injected.
func (r *Report) faultStart(f Fault) string {
	if f.InjectedAt == nil {
		return "not injected"
	}
	return r.humanOffset(*f.InjectedAt)
}

// faultNote joins a fault's errors.
func faultNote(f Fault) string {
	switch {
	case f.Error != "" && f.VerifyError != "":
		return f.Error + "; revert check: " + f.VerifyError
	case f.Error != "":
		return f.Error
	case f.VerifyError != "":
		return "revert check: " + f.VerifyError
	}
	return ""
}

// alarmFired writes when an alarm first fired.
func (r *Report) alarmFired(a Alarm) string {
	if a.FirstFired == nil {
		return "never"
	}
	return r.humanOffset(*a.FirstFired)
}
