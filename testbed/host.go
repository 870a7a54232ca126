package testbed

import (
	"context"

	"github.com/natlab/natlab/agent/wire"
)

// Role is what a host does in the testbed.
type Role string

// Host roles; each runs `natlab agent ROLE`.
const (
	RoleNAT     Role = "nat"
	RoleBackend Role = "backend"
	RoleClient  Role = "client"
)

// Host is one machine of the testbed as a backend (netns or docker) made
// it. The runner reaches it only through agents.
type Host interface {
	// Name is the host's name in the spec.
	Name() string
	// Role is what the host does.
	Role() Role
	// StartAgent starts one more agent process in the host and returns
	// the connection to it. Events it sends go to onEvent.
	StartAgent(ctx context.Context, onEvent func(wire.Event)) (*wire.Conn, error)
	// Kill stops every agent process of the host at once (SIGKILL), as a
	// crash would.
	Kill() error
}

// Backend builds and removes the hosts of one run.
type Backend interface {
	// Name is "netns" or "docker".
	Name() string
	// Create makes every host of the run. When it fails, what it made is
	// still removed by Destroy.
	Create(ctx context.Context, run *Run) ([]Host, error)
	// Destroy removes everything Create made, even after a failure.
	Destroy(ctx context.Context) error
}

// Isolated is implemented by a backend whose runs cannot clash by address
// with any other run, whatever their slots: the netns backend wires every
// run through a fabric namespace of its own and puts nothing in the
// initial namespace. Runs of such a backend may share a slot (see Claim).
type Isolated interface {
	// Isolated reports whether the backend's runs are isolated so.
	Isolated() bool
}

// isolated reports whether backend's runs are isolated (see Isolated).
func isolated(backend Backend) bool {
	i, ok := backend.(Isolated)
	return ok && i.Isolated()
}
