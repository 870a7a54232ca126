// Package scenario reads natlab scenario files: the YAML spec of a run, its
// validation against the testbed, and the assertion language that judges
// the run.
//
// [Load] and [Parse] turn a file into a [Scenario] whose testbed is a
// normalized testbed.Spec and whose loads are loadgen values. Every problem
// is reported at once, as an [*Errors] whose entries read
// "FILE:LINE:COL: message" and say what would be valid.
//
// # Assertions
//
// An assertion is "METRIC OP VALUE" with OP one of < <= > >= == !=. VALUE
// is a number, a percentage ("0.1%" = 0.001), a Go duration ("250ms"; a
// bare number means milliseconds for latencies and seconds for other
// durations) or true/false, as the metric's type asks. With a phase it is
// judged over that phase, without over the whole run. A recovery assertion
// is judged tick by tick after its fault is reverted (see [Evaluate]).
//
// Client metrics (over the phase or the run; cancelled attempts are left out):
//
//	attempts                   attempts started
//	ok                         attempts that ended ok
//	errors                     attempts that ended in anything but ok
//	error_rate                 (errors + attempts still in flight) / (attempts that ended + in flight) (ratio)
//	throughput                 ok per second of the window
//	outcomes.<class>           attempts that ended in one loadgen outcome, e.g. outcomes.connect_timeout
//	connect.p50 (p90 p95 p99 p999 max mean)  TCP handshake latency (duration)
//	request.p50 (p90 p95 p99 p999 max mean)  request latency (duration)
//	lost                       held connections lost before the end of their phase
//	lost.<class>               those lost one way, e.g. lost.reset, lost.closed
//	new_conns                  connections the clients established (a keep-alive pool's, or one per unpooled attempt)
//	first_failure              start of the first tick in which an attempt failed, since the start of the run (duration; the run's, whatever the phase)
//	last_failure               end of the last such tick (duration; the run's)
//
// NAT metrics:
//
//	nat.allocation_failures    rise of conntrack insert_failed + drop (AWS ErrorPortAllocation, GCP OUT_OF_RESOURCES)
//	nat.peak_port_utilization  highest mappings / port range for any NAT IP and destination (ratio)
//	nat.peak_conntrack         highest number of conntrack entries
//	nat.ip_forward_off_seconds time sampled with net.ipv4.ip_forward = 0 (duration)
//
// Backend metrics:
//
//	backend.<name>.accepted                     connections the backend accepted
//	backend.<name>.registrations_failed_closed  registrations refused because verification timed out
//	backend.<name>.listen_drops                 SYNs the backend's kernel dropped: its accept queue was full
//
// Alarm metrics (over the whole run, whatever the phase):
//
//	alarm.<name>.fired                       whether the alarm fired (bool)
//	alarm.<name>.fired_before_first_failure  whether it fired before the first failed attempt (bool)
//	alarm.<name>.first_fired                 when it first fired, since the start (duration)
//
// A recovery's expect uses a per-tick metric: attempts, ok, errors,
// error_rate or throughput.
//
// # Alarms
//
// An alarm watches a live metric every tick and fires when it goes above
// (or below) a threshold, for at least its for duration: attempts, ok,
// errors, error_rate, throughput, open_conns, connect.p99, request.p99
// (per tick), nat.port_utilization, nat.conntrack, nat.allocation_failures
// (per tick), nat.ip_forward (0 or 1).
package scenario
