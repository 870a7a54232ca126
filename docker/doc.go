// Package docker is the docker backend of the testbed (`natlab run
// --testbed docker`): every host is a container of a FROM scratch image
// holding natlab's own static binary, which runs as the agent.
//
// The topology is the netns one: an internal docker network per origin
// block link net and one for the public subnet, with the exact addresses of
// the run's Layout. A container's first process is `natlab agent init`,
// which serves no role: it holds the container, and so its network
// namespace, while agents come and go. Every agent is started with docker
// exec and listens on a unix socket in a per-run host directory
// bind-mounted at /run/natlab; the runner dials it and speaks the agent
// protocol over it. The first agent after the container starts applies the
// rest of the host's plan (renames, extra addresses, routes) with
// net.setup. Killing a host's agents (the kill and restart faults) asks the
// init, over a socket of its own there, to SIGKILL every other process of
// the container: as on netns the host, with its interfaces, routes,
// nftables rules, conntrack and sysctls, outlives its agents.
//
// Every container and network carries the label natlab.run=RUNID, so
// Clean can remove what a killed runner left.
package docker
