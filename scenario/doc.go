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
//	client.<host>.attempts, .ok, .errors, .error_rate  the same, of the loads one client host runs
//
// NAT metrics:
//
//	nat.allocation_failures    rise of new flows the NAT dropped: conntrack clashes (insert_failed) and drops, each once, and natlab's drop rules (AWS ErrorPortAllocation, GCP OUT_OF_RESOURCES)
//	nat.peak_port_utilization  highest mappings / port range for any NAT IP and destination (ratio); on a Cloud NAT the busiest VM's port_usage / allocated_ports
//	nat.peak_conntrack         highest number of conntrack entries
//	nat.ip_forward_off_seconds time sampled with net.ipv4.ip_forward = 0 (duration)
//
// AWS NAT gateway metrics (profile aws-nat-gateway, CloudWatch's names):
//
//	nat.ErrorPortAllocation        connections the gateway could not give a port (cap per NAT IP and destination, or ports)
//	nat.PacketsDropCount           packets the gateway dropped
//	nat.ActiveConnectionCount      highest sampled number of open TCP connections
//	nat.ConnectionAttemptCount     TCP connection attempts
//	nat.ConnectionEstablishedCount TCP connections the destination answered
//	nat.IdleTimeoutCount           connections reset after idle_timeout_sec without traffic
//
// Backend metrics:
//
//	backend.<name>.accepted                     connections the backend accepted
//	backend.<name>.registrations_failed_closed  registrations refused because verification timed out
//	backend.<name>.listen_drops                 SYNs the backend's kernel dropped: its accept queue was full
//	backend.<name>.registrations                verified registrations (registrar 200s, rendezvous requests registered)
//	backend.<name>.holepunch_requests           rendezvous requests received, redundant copies each counted
//	backend.<name>.verifications                probes answered through the probed mapping
//	backend.<name>.dependency_timeouts          failed closed: the dependency lookup did not finish in time
//	backend.<name>.probe_timeouts               failed closed: the probe was not answered in time
//	backend.<name>.mapping_changed              requests claiming a mapping other than the one they came from
//	backend.<name>.failed_clients               distinct clients with a failed-closed request
//	backend.<name>.dependency_peak_in_use       most dependency lookups running at once (the run: highest phase)
//	backend.<name>.dependency_peak_queue        most lookups waiting for a slot (the run: highest phase)
//	backend.<name>.peer_resets                  connections a tcp-echo backend saw reset by the other side
//
// App metrics (testbed.apps; the client side of the loads that call the
// app, and what the supervisor did in the window):
//
//	app.<name>.attempts, .errors, .error_rate  as the client metrics, of the app's callers
//	app.<name>.health_check_failures           failed health checks through the NAT
//	app.<name>.restarts                        restarts after too many failed checks in a row
//	app.<name>.boot_attempts                   config fetches of every boot (whole run)
//	app.<name>.time_to_serve                   longest boot-to-serving of a restarted host (whole run, duration)
//	app.<name>.serving                         hosts serving at the end of the run
//
// Alarm metrics (over the whole run, whatever the phase):
//
//	alarm.<name>.fired                       whether the alarm fired (bool)
//	alarm.<name>.fired_before_first_failure  whether it fired before the first failed attempt (bool)
//	alarm.<name>.first_fired                 when it first fired, since the start (duration)
//
// NAT config change metrics (a nat-config fault, over the whole run):
//
//	fault.<name>.predicted_resets   connections the NAT predicted, before the change, it would reset
//	fault.<name>.predicted_dropped  connections on removed NAT IPs, whose return traffic it drops
//	fault.<name>.observed_resets    connections it reset, each once, up to the revert
//	fault.<name>.observed_dropped   connections whose return traffic it dropped, up to the revert
//
// Every fault (over the whole run):
//
//	fault.<name>.failing_after  from its inject to the end of the last tick in which an attempt failed (duration; 0 when none failed after it)
//
// VM start metrics (a vm-start fault, at its inject):
//
//	fault.<name>.allocated  VMs of the host that got a block of ports
//	fault.<name>.waiting    VMs that found every NAT IP's ports allocated and wait (nat_allocation_failed)
//
// A recovery's expect uses a per-tick metric: attempts, ok, errors,
// error_rate or throughput. With beyond it must also take longer than
// that after the revert.
//
// # Alarms
//
// An alarm watches a live metric every tick and fires when it goes above
// (or below) a threshold, for at least its for duration: attempts, ok,
// errors, error_rate, throughput, open_conns, connect.p99, request.p99
// (per tick), nat.port_utilization, nat.conntrack, nat.allocation_failures
// (per tick), nat.ip_forward (0 or 1).
package scenario
