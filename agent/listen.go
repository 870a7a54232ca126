package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// AcceptWait is how long a listening agent waits for the runner to
// connect before it gives up and exits.
const AcceptWait = 2 * time.Minute

// ListenOnce listens on addr ("unix:PATH"), accepts a single connection
// (the runner's) and returns it. The listener is closed and the socket file
// removed once the connection is accepted, so the agent serves exactly one
// runner and exits when that runner goes away. It gives up after wait or
// when ctx ends.
func ListenOnce(ctx context.Context, addr string, wait time.Duration) (net.Conn, error) {
	path, ok := strings.CutPrefix(addr, "unix:")
	if !ok || path == "" {
		return nil, fmt.Errorf("listen address %q: want unix:PATH", addr)
	}
	// A socket left by an earlier agent of a restarted container.
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket: %w", err)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	l.SetUnlinkOnClose(true)
	defer l.Close()
	if err := l.SetDeadline(time.Now().Add(wait)); err != nil {
		return nil, fmt.Errorf("set accept deadline: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = l.Close() })
	defer stop()
	conn, err := l.Accept()
	if err != nil {
		return nil, fmt.Errorf("accept the runner on %s: %w", path, err)
	}
	return conn, nil
}
