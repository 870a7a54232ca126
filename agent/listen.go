package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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
	l, path, err := listenUnix(addr)
	if err != nil {
		return nil, err
	}
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

// listenUnix listens on addr ("unix:PATH") in place of any socket left
// there (by an earlier agent, or a container's earlier start), removes the
// socket file when closed, and hands the socket to the directory's owner.
func listenUnix(addr string) (*net.UnixListener, string, error) {
	path, ok := strings.CutPrefix(addr, "unix:")
	if !ok || path == "" {
		return nil, "", fmt.Errorf("listen address %q: want unix:PATH", addr)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, "", fmt.Errorf("remove stale socket: %w", err)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, "", fmt.Errorf("listen on %s: %w", path, err)
	}
	l.SetUnlinkOnClose(true)
	if err := handToDirOwner(path); err != nil {
		_ = l.Close()
		return nil, "", err
	}
	return l, path, nil
}

// handToDirOwner gives the socket to the owner of the directory the runner
// put it in. In a docker host the agent runs as root while the runner may
// be any user in the docker group, and connecting to a unix socket needs
// write permission on it; the directory (the runner's, mode 0700) still
// keeps everyone else out.
func handToDirOwner(path string) error {
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Dir(path), &st); err != nil {
		return fmt.Errorf("stat socket directory: %w", err)
	}
	if int(st.Uid) == os.Geteuid() {
		return nil
	}
	if err := os.Lchown(path, int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("hand socket %s to uid %d: %w", path, st.Uid, err)
	}
	return nil
}
