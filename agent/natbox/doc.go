// Package natbox configures the NAT box of a natlab testbed and reads its
// metrics. It always works on the network namespace of the calling thread:
// nftables SNAT pools with explicit NAT IPs and port ranges, an optional
// managed-NAT port hold, an optional conntrack ceiling, per-namespace
// sysctls, conntrack flushes and the operator metrics (conntrack entries,
// allocation failures, NAT port utilization). A config's profile (one file
// each, listed in profile.go: linux, gcp-cloud-nat) decides the rules and
// may run a control loop beside them; docs/nat-profiles.md describes them.
//
// natbox never touches net.ipv4.ip_forward on its own: the caller enables
// forwarding with SetSysctl("net.ipv4.ip_forward", "1") so that a fault which
// turned it off is not silently undone by a later Apply.
package natbox
