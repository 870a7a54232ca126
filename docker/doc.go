// Package docker is the docker backend of the testbed (`natlab run
// --testbed docker`): every host is a container of a FROM scratch image
// holding natlab's own static binary, which runs as the agent.
//
// The topology is the netns one: an internal docker network per origin
// block link net and one for the public subnet, with the exact addresses of
// the run's Layout. Each container's agent listens on a unix socket in a
// per-run host directory bind-mounted at /run/natlab; the runner dials it
// and speaks the agent protocol over it. The agent then applies the rest of
// the host's plan (renames, extra addresses, routes) with net.setup.
//
// Every container and network carries the label natlab.run=RUNID, so
// Clean can remove what a killed runner left.
package docker
