// Package natcfg is the NAT box's configuration as plain types: the SNAT
// pools the runner computes from a scenario and the NAT agent applies
// (Config, Pool, Slice, PortRange), the sysctls it sets (Sysctl, parsed
// from sysctl.conf files), the conntrack flush filter and the metrics the
// agent reads back. It validates what it can without a kernel and links no
// netlink code; the kernel side is agent/natbox.
package natcfg
