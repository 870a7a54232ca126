// Package loadgen generates connection storms against one target and accounts
// for every attempt exactly.
//
// A [Plan] names the target, the local source addresses to dial from, a
// [Strategy] (tcp, http1, h2c or udp, pooled or not) and a sequence of
// [Phase]s, each driven by a [Schedule] (closed, open, ramp, spike or hold;
// a hold opens its connections at once or at the rate of its HoldRamp).
// [Run] executes the plan, streams a [Sample] every tick and returns a
// [Result] whose counts and HDR histograms merge exactly with the results of
// other processes ([Result.Merge]); [Split] divides a plan over processes.
//
// Accounting: every attempt ends in exactly one [Outcome]. Three counters are
// kept apart, none derived from the others: Attempts counts an attempt when
// it begins, Outcomes count it by class when it ends, and InFlight is a
// gauge, up on begin and down on end. So that they can disagree when an
// attempt is mishandled, they are checked against each other:
// [Counts.Check] wants Attempts == sum(Outcomes) + InFlight (an attempt that
// ends twice makes more outcomes than attempts; one that ends without an
// outcome makes fewer), and [Counts.CheckFinished] also wants InFlight == 0
// (an attempt that never ends stays in flight). Attempts interrupted by a
// cancelled run context end as [OutcomeCancelled]; attempts started in one
// phase and finished in the next are counted in the phase that started
// them. A hold's attempt begins when its dial starts: with a ramp, at the
// ramp's due time, so a tick's attempts are the ramp's arrivals; what a
// hold's phase ends before dialling never begins, and a dial the phase's
// end finds still under way is cancelled: it held nothing. Run waits for in-flight
// attempts to finish (they are bounded by the plan's timeouts) before it
// returns, so InFlight is zero in a normal
// Result, which passes [Result.CheckFinished]; the Result of a cancelled
// run may keep stragglers in flight and passes [Result.Check].
//
// Snapshots while attempts run: a phase's three counters change together
// under one lock and are read together under it, so every snapshot (a
// tick's [Sample], a partial Result) is of one instant and satisfies
// Counts.Check exactly, never CheckFinished's InFlight == 0 but never a
// transient mismatch either. A tick sums the phases' snapshots; an attempt
// stays in the phase that began it, so the sum is exact too. Over the
// samples of a run, the attempts of the ticks so far equal their outcomes
// plus the last tick's InFlight.
//
// Latency: the request histogram records ok attempts from the intended send
// time (open, ramp and spike schedules: the arrival time the schedule asked
// for, so a stall shows as latency rather than as missing samples) or from
// the start of the attempt (closed schedules) to the end of the response; it
// includes pool waits and connection set-up. The connect histogram records
// each successful TCP handshake (or UDP socket set-up) on its own. The
// failed histogram records, from the same start as the request histogram,
// how long every attempt that was made and failed took to fail: a connect
// timeout shows as the timeout, a reset as the time to the reset. Dropped
// attempts (never made) and cancelled ones (cut short by the run's end) are
// in neither histogram: Request.Count is the ok outcomes and Failed.Count
// the outcomes other than ok, dropped and cancelled. When nothing succeeds
// the request histogram is empty and the failed one still says how long
// clients waited.
//
// loadgen knows nothing about testbeds: it dials what it is told from the
// addresses it is given.
package loadgen
