package loadgen

import "net/netip"

// Split divides a plan over n processes. Concurrency, hold counts and rate
// frequencies (a hold's ramp too) are divided with the remainder going to the first plans, so
// each sums exactly to the original; MaxInFlight is divided the same way
// (at least 1 each). Sources are dealt out in contiguous blocks; when there
// are fewer sources than plans, plan i uses source i mod len(sources).
// Everything else is copied. n < 1 is treated as 1.
func Split(p Plan, n int) []Plan {
	n = max(n, 1)
	out := make([]Plan, n)
	for i := range out {
		q := p
		q.Phases = make([]Phase, len(p.Phases))
		for j, ph := range p.Phases {
			sc := ph.Schedule
			sc.Concurrency = share(sc.Concurrency, n, i)
			sc.Hold = share(sc.Hold, n, i)
			sc.HoldRamp = shareRate(sc.HoldRamp, n, i)
			sc.Rate = shareRate(sc.Rate, n, i)
			sc.From = shareRate(sc.From, n, i)
			sc.To = shareRate(sc.To, n, i)
			sc.SpikeRate = shareRate(sc.SpikeRate, n, i)
			ph.Schedule = sc
			q.Phases[j] = ph
		}
		if p.MaxInFlight > 0 {
			q.MaxInFlight = max(1, share(p.MaxInFlight, n, i))
		}
		q.Sources = shareSources(p.Sources, n, i)
		out[i] = q
	}
	return out
}

// share returns part i of total divided into n parts.
func share(total, n, i int) int {
	s := total / n
	if i < total%n {
		s++
	}
	return s
}

func shareRate(r Rate, n, i int) Rate {
	if r.Per <= 0 && r.Freq == 0 {
		return r
	}
	return Rate{Freq: share(r.Freq, n, i), Per: r.Per}
}

func shareSources(src []netip.Addr, n, i int) []netip.Addr {
	if len(src) == 0 {
		return nil
	}
	if len(src) < n {
		return []netip.Addr{src[i%len(src)]}
	}
	from := 0
	for k := range i {
		from += share(len(src), n, k)
	}
	return append([]netip.Addr(nil), src[from:from+share(len(src), n, i)]...)
}
