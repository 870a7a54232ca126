package reports

import (
	"cmp"
	"slices"
	"time"
)

// offset returns t in seconds since the start of the run.
func (r *Report) offset(t time.Time) float64 { return t.Sub(r.Started).Seconds() }

// Markers lists the timeline events of r in time order: phase starts, fault
// injects and reverts, first alarm firings. Times are seconds since Started.
func (r *Report) Markers() []Marker {
	var out []Marker
	for _, p := range r.Phases {
		out = append(out, Marker{T: r.offset(p.Start), Kind: MarkerPhase, Name: p.Name})
	}
	for _, f := range r.Faults {
		if f.InjectedAt == nil {
			continue
		}
		out = append(out, Marker{T: r.offset(*f.InjectedAt), Kind: MarkerFaultInjected, Name: f.Name})
		if f.RevertedAt != nil {
			out = append(out, Marker{T: r.offset(*f.RevertedAt), Kind: MarkerFaultReverted, Name: f.Name})
		}
	}
	for _, a := range r.Alarms {
		if a.FirstFired != nil {
			out = append(out, Marker{T: r.offset(*a.FirstFired), Kind: MarkerAlarm, Name: a.Name})
		}
	}
	slices.SortStableFunc(out, func(a, b Marker) int { return cmp.Compare(a.T, b.T) })
	return out
}

// window is the span during which a fault was in effect, in seconds since
// the start of the run.
type window struct {
	name     string
	from, to float64
	// open: never reverted, so it lasts until the end of the run.
	open bool
}

// faultWindows returns the span of every injected fault; a fault that was
// not reverted lasts until the end of the run.
func (r *Report) faultWindows() []window {
	var out []window
	end := r.Duration.Float()
	for _, f := range r.Faults {
		if f.InjectedAt == nil {
			continue
		}
		w := window{name: f.Name, from: r.offset(*f.InjectedAt), to: end, open: true}
		if f.RevertedAt != nil {
			w.to, w.open = r.offset(*f.RevertedAt), false
		}
		out = append(out, w)
	}
	return out
}
