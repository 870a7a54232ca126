// Package agent is the process natlab runs inside every testbed host
// (`natlab agent ROLE`): the nat, backend and client roles answering the
// runner over the wire protocol (package wire). What acts on the host's
// kernel lives below it: natbox (nftables SNAT and conntrack), droprules
// (the drop fault's rules) and servers (the backends' servers).
package agent

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/natlab/natlab/agent/wire"
)

// Roles an agent can take.
const (
	RoleNAT     = "nat"
	RoleBackend = "backend"
	RoleClient  = "client"
	RoleApp     = "app"
)

// Main runs the agent: `ROLE --host NAME --run ID`, speaking the protocol
// on stdin and stdout until stdin ends. It returns the process exit code.
// The hidden `init --host NAME --run ID --listen unix:PATH` is a docker
// host's first process instead (see roleInit).
// It is shared by the `natlab agent` command and by test binaries that
// re-execute themselves as agents.
func Main(args []string) int {
	if len(args) < 1 {
		fmt.Fprintln(os.Stderr, "usage: natlab agent nat|backend|client|app --host NAME --run ID")
		return 2
	}
	role := args[0]
	fs := flag.NewFlagSet("agent "+role, flag.ContinueOnError)
	hostName := fs.String("host", role, "name of the host this agent runs in")
	runID := fs.String("run", "", "id of the run")
	listen := fs.String("listen", "", "serve one runner connection accepted at unix:PATH instead of stdin/stdout")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	raiseFileLimit()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if role == roleInit {
		if err := runInit(ctx, *hostName, *listen); err != nil {
			log.Printf("init of %s (run %s): %v", *hostName, *runID, err)
			return 1
		}
		return 0
	}
	var r io.Reader = os.Stdin
	var w io.Writer = os.Stdout
	if *listen != "" {
		conn, err := ListenOnce(ctx, *listen, AcceptWait)
		if err != nil {
			log.Printf("agent %s (run %s): %v", *hostName, *runID, err)
			return 1
		}
		defer conn.Close()
		r, w = conn, conn
	}
	err := Run(ctx, role, *hostName, r, w)
	if err != nil {
		log.Printf("agent %s (run %s): %v", *hostName, *runID, err)
		return 1
	}
	return 0
}

// Run serves the protocol for role until r ends or ctx is done.
func Run(ctx context.Context, role, host string, r io.Reader, w io.Writer) error {
	h := wire.Handlers{}
	common(h, host, role)
	registerNetSetup(h)
	var closer func() error
	switch role {
	case RoleNAT:
		n := &natRole{}
		n.register(h)
		closer = n.close
	case RoleBackend:
		b := &backendRole{}
		b.register(h)
		closer = b.close
	case RoleClient:
		c := &clientRole{}
		c.register(h)
	case RoleApp:
		a := &appRole{}
		a.register(h)
		closer = a.close
	default:
		return fmt.Errorf("unknown role %q: valid roles are nat, backend, client, app", role)
	}
	err := wire.Serve(ctx, r, w, h)
	if closer != nil {
		if cerr := closer(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}

// raiseFileLimit lifts the soft open-file limit to the hard one: a client
// agent holds thousands of connections.
func raiseFileLimit() {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}
