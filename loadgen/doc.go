// Package loadgen generates connection storms against one target and accounts
// for every attempt exactly.
//
// A [Plan] names the target, the local source addresses to dial from, a
// [Strategy] (tcp, http1, h2c or udp, pooled or not) and a sequence of
// [Phase]s, each driven by a [Schedule] (closed, open, ramp, spike or hold).
// [Run] executes the plan, streams a [Sample] every tick and returns a
// [Result] whose counts and HDR histograms merge exactly with the results of
// other processes ([Result.Merge]); [Split] divides a plan over processes.
//
// Accounting: every attempt ends in exactly one [Outcome], so at every instant
// Attempts == sum(Outcomes) + InFlight. Attempts interrupted by a cancelled
// run context end as [OutcomeCancelled]; attempts started in one phase and
// finished in the next are counted in the phase that started them. Run waits
// for in-flight attempts to finish (they are bounded by the plan's timeouts)
// before it returns, so InFlight is zero in a normal Result.
//
// Latency: the request histogram records ok attempts from the intended send
// time (open, ramp and spike schedules: the arrival time the schedule asked
// for, so a stall shows as latency rather than as missing samples) or from
// the start of the attempt (closed schedules) to the end of the response; it
// includes pool waits and connection set-up. The connect histogram records
// each successful TCP handshake (or UDP socket set-up) on its own.
//
// loadgen knows nothing about testbeds: it dials what it is told from the
// addresses it is given.
package loadgen
