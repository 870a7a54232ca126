package docker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/testbed"
)

// mainSocket is the socket of the agent that is the container's entrypoint.
const mainSocket = "agent.sock"

// dialWait bounds how long the runner waits for an agent's socket.
const dialWait = 30 * time.Second

// host is one container and the agents running in it.
type host struct {
	b     *Backend
	name  string
	role  testbed.Role
	id    string // container id
	dir   string // runtime dir on this machine, /run/natlab in the container
	setup wire.NetSetup

	mu    sync.Mutex
	main  *wire.Conn // the entrypoint agent, nil until started
	next  int        // number of the next extra agent's socket
	conns []net.Conn
}

var _ testbed.Host = (*host)(nil)

func (h *host) Name() string       { return h.name }
func (h *host) Role() testbed.Role { return h.role }

// ContainerID is the docker id of the host's container.
func (h *host) ContainerID() string { return h.id }

// StartAgent starts the container when its entrypoint agent is not running
// (the first time, or after Kill) and applies the host's network plan, as
// the container's network namespace is new; otherwise it runs one more
// agent in the container with docker exec.
func (h *host) StartAgent(ctx context.Context, onEvent func(wire.Event)) (*wire.Conn, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.main == nil || isDone(h.main) {
		conn, err := h.startMain(ctx, onEvent)
		if err != nil {
			return nil, err
		}
		h.main = conn
		return conn, nil
	}
	return h.startExtra(ctx, onEvent)
}

func (h *host) startMain(ctx context.Context, onEvent func(wire.Event)) (*wire.Conn, error) {
	cli := h.b.cli
	// An entrypoint agent whose runner connection ended is on its way out;
	// make sure the container is down before starting it again.
	if err := h.stop(ctx); err != nil {
		return nil, err
	}
	sock := filepath.Join(h.dir, mainSocket)
	if err := os.Remove(sock); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: remove stale socket: %w", h.name, err)
	}
	since := strconv.FormatInt(time.Now().Unix(), 10)
	if err := cli.ContainerStart(ctx, h.id, container.StartOptions{}); err != nil {
		return nil, fmt.Errorf("%s: start container: %w", h.name, err)
	}
	go h.followLogs(since)
	conn, err := h.connect(ctx, sock, onEvent)
	if err == nil {
		if err = conn.Call(ctx, wire.OpNetSetup, h.setup, nil); err != nil {
			err = fmt.Errorf("%s: network setup: %w", h.name, err)
		}
	}
	if err != nil {
		return nil, errors.Join(err, h.stop(context.WithoutCancel(ctx)))
	}
	return conn, nil
}

// startExtra runs `natlab agent ... --listen` in the running container.
func (h *host) startExtra(ctx context.Context, onEvent func(wire.Event)) (*wire.Conn, error) {
	cli := h.b.cli
	h.next++
	name := "agent-" + strconv.Itoa(h.next) + ".sock"
	exec, err := cli.ContainerExecCreate(ctx, h.id, container.ExecOptions{
		Cmd:          []string{"/natlab", "agent", string(h.role), "--host", h.name, "--run", h.b.run.ID, "--listen", "unix:" + socketDir + "/" + name},
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: create agent exec: %w", h.name, err)
	}
	att, err := cli.ContainerExecAttach(ctx, exec.ID, container.ExecAttachOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: start agent exec: %w", h.name, err)
	}
	go func() {
		defer att.Close()
		w := &lineWriter{w: h.b.run.Log, host: h.name}
		_, _ = stdcopy.StdCopy(w, w, att.Reader)
	}()
	return h.connect(ctx, filepath.Join(h.dir, name), onEvent)
}

// connect dials an agent's socket until it answers, and pings it.
func (h *host) connect(ctx context.Context, sock string, onEvent func(wire.Event)) (*wire.Conn, error) {
	deadline := time.Now().Add(dialWait)
	var c net.Conn
	var err error
	for {
		var d net.Dialer
		c, err = d.DialContext(ctx, "unix", sock)
		if err == nil {
			break
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return nil, fmt.Errorf("%s: agent socket did not answer (%s): %w", h.name, h.state(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.conns = append(h.conns, c)
	conn := wire.NewConn(h.name, c, c, onEvent)
	if err := conn.Call(ctx, wire.OpPing, nil, nil); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("%s: agent did not answer: %w", h.name, err)
	}
	return conn, nil
}

// state describes the container for error messages.
func (h *host) state() string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := h.b.cli.ContainerInspect(ctx, h.id)
	if err != nil || info.State == nil {
		return "container state unknown"
	}
	return fmt.Sprintf("container %s, exit code %d", info.State.Status, info.State.ExitCode)
}

// followLogs copies the container's output (the entrypoint agent's log)
// since the given time to the run's log until the container stops.
func (h *host) followLogs(since string) {
	rc, err := h.b.cli.ContainerLogs(context.Background(), h.id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: true, Since: since})
	if err != nil {
		return
	}
	defer rc.Close()
	w := &lineWriter{w: h.b.run.Log, host: h.name}
	_, _ = stdcopy.StdCopy(w, w, rc)
}

// Kill stops every agent of the host at once: SIGKILL to the container's
// init (the entrypoint agent) takes the agents run with exec with it.
func (h *host) Kill() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.main = nil
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return h.stop(ctx)
}

// stop kills the container if it runs and waits until it no longer does.
func (h *host) stop(ctx context.Context) error {
	cli := h.b.cli
	info, err := cli.ContainerInspect(ctx, h.id)
	if err != nil {
		return fmt.Errorf("%s: inspect container: %w", h.name, err)
	}
	if info.State != nil && (info.State.Running || info.State.Restarting) {
		if err := cli.ContainerKill(ctx, h.id, "SIGKILL"); err != nil && !cerrdefs.IsConflict(err) && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("%s: kill container: %w", h.name, err)
		}
		waitC, errC := cli.ContainerWait(ctx, h.id, container.WaitConditionNotRunning)
		select {
		case <-waitC:
		case err := <-errC:
			if err != nil && !cerrdefs.IsNotFound(err) {
				return fmt.Errorf("%s: wait for container to stop: %w", h.name, err)
			}
		}
	}
	for _, c := range h.conns {
		_ = c.Close()
	}
	h.conns = nil
	return nil
}

func isDone(c *wire.Conn) bool {
	select {
	case <-c.Done():
		return true
	default:
		return false
	}
}
