// Package natlab is a chaos and load-testing harness for egress NAT.
//
// The command lives in cmd/natlab; the packages below it each do one job:
// testbed (topology, hosts, the netns backend and the NAT box), agent (the
// process that runs inside each host and the protocol the runner speaks to
// it), loadgen (connection storms), chaos (faults), scenario (spec, runner,
// assertions) and reports (output formats).
package natlab
