// Package natlab is a chaos and load-testing harness for egress NAT.
//
// The command lives in cmd/natlab; the packages below it each do one job:
//
//   - testbed: the topology model (with the NAT config in testbed/natcfg
//     and the server specs in testbed/service as plain types), the Host
//     interface, the netns backend and the sampler;
//   - agent: everything that runs inside a host (the roles, the NAT box's
//     nftables and conntrack code, the servers, the drop rules), with the
//     wire protocol both sides import in agent/wire;
//   - loadgen (connection storms), chaos (faults), scenario (spec, runner,
//     assertions), reports (output formats), docker (the container backend)
//     and fixtures (the built-in scenarios).
//
// The runner's side (scenario, chaos, testbed, the sampler) links no kernel
// code: deps_test.go keeps it so.
package natlab
