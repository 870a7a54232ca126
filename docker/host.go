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

// initSocket is the socket of the container's init (`natlab agent init`),
// its first process, which holds the container while agents come and go.
const initSocket = "init.sock"

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

	mu       sync.Mutex
	init     *wire.Conn // the container's init, nil until the container runs
	initConn net.Conn
	netReady bool       // setup applied since the container started
	next     int        // number of the next agent's socket
	conns    []net.Conn // the agents'
}

var _ testbed.Host = (*host)(nil)

func (h *host) Name() string       { return h.name }
func (h *host) Role() testbed.Role { return h.role }

// ContainerID is the docker id of the host's container.
func (h *host) ContainerID() string { return h.id }

// StartAgent runs one more agent in the host's container with docker
// exec. When the container does not run (the first time, or it died) it
// starts it first: its init holds the network namespace, and the first
// agent after the start applies the host's network plan to it. Agents
// started after a Kill find the namespace as the killed ones left it, as
// in a netns host.
func (h *host) StartAgent(ctx context.Context, onEvent func(wire.Event)) (*wire.Conn, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.init == nil || isDone(h.init) {
		if err := h.startContainer(ctx); err != nil {
			return nil, err
		}
	}
	conn, c, err := h.startAgent(ctx, onEvent)
	if err != nil {
		return nil, err
	}
	if !h.netReady {
		if err := conn.Call(ctx, wire.OpNetSetup, h.setup, nil); err != nil {
			_ = c.Close() // the agent ends with its runner connection
			return nil, fmt.Errorf("%s: network setup: %w", h.name, err)
		}
		h.netReady = true
	}
	return conn, nil
}

// startContainer (re)starts the container and connects to its init.
func (h *host) startContainer(ctx context.Context) error {
	// An init whose connection ended is on its way out with its
	// container; make sure the container is down before starting it.
	if err := h.stop(ctx); err != nil {
		return err
	}
	sock := filepath.Join(h.dir, initSocket)
	if err := os.Remove(sock); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: remove stale socket: %w", h.name, err)
	}
	since := strconv.FormatInt(time.Now().Unix(), 10)
	if err := h.b.cli.ContainerStart(ctx, h.id, container.StartOptions{}); err != nil {
		return fmt.Errorf("%s: start container: %w", h.name, err)
	}
	go h.followLogs(since)
	conn, c, err := h.connect(ctx, sock, nil)
	if err != nil {
		return errors.Join(fmt.Errorf("%s: container init: %w", h.name, err), h.stop(context.WithoutCancel(ctx)))
	}
	h.init, h.initConn = conn, c
	return nil
}

// startAgent runs `natlab agent ROLE ... --listen` in the running
// container and connects to it.
func (h *host) startAgent(ctx context.Context, onEvent func(wire.Event)) (*wire.Conn, net.Conn, error) {
	cli := h.b.cli
	h.next++
	name := "agent-" + strconv.Itoa(h.next) + ".sock"
	exec, err := cli.ContainerExecCreate(ctx, h.id, container.ExecOptions{
		Cmd:          []string{"/natlab", "agent", string(h.role), "--host", h.name, "--run", h.b.run.ID, "--listen", "unix:" + socketDir + "/" + name},
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: create agent exec: %w", h.name, err)
	}
	att, err := cli.ContainerExecAttach(ctx, exec.ID, container.ExecAttachOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: start agent exec: %w", h.name, err)
	}
	go func() {
		defer att.Close()
		w := &lineWriter{w: h.b.run.Log, host: h.name}
		_, _ = stdcopy.StdCopy(w, w, att.Reader)
	}()
	conn, c, err := h.connect(ctx, filepath.Join(h.dir, name), onEvent)
	if err != nil {
		return nil, nil, err
	}
	h.conns = append(h.conns, c)
	return conn, c, nil
}

// connect dials an agent's (or the init's) socket until it answers, and
// pings it.
func (h *host) connect(ctx context.Context, sock string, onEvent func(wire.Event)) (*wire.Conn, net.Conn, error) {
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
			return nil, nil, fmt.Errorf("%s: socket %s did not answer (%s): %w", h.name, filepath.Base(sock), h.state(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	conn := wire.NewConn(h.name, c, c, onEvent)
	if err := conn.Call(ctx, wire.OpPing, nil, nil); err != nil {
		_ = c.Close()
		return nil, nil, fmt.Errorf("%s: %s did not answer: %w", h.name, filepath.Base(sock), err)
	}
	return conn, c, nil
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

// followLogs copies the container's output (its init's log) since the
// given time to the run's log until the container stops.
func (h *host) followLogs(since string) {
	rc, err := h.b.cli.ContainerLogs(context.Background(), h.id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: true, Since: since})
	if err != nil {
		return
	}
	defer rc.Close()
	w := &lineWriter{w: h.b.run.Log, host: h.name}
	_, _ = stdcopy.StdCopy(w, w, rc)
}

// Kill SIGKILLs every agent of the host at once, as a crash would: the
// container's init kills every other process of the container and
// answers once they are gone. The container and its network namespace
// (interfaces, routes, nftables rules, conntrack, sysctls) stay, as a
// netns host outlives its agents. Should the init not do it, the
// container is killed instead, and its network state is lost.
func (h *host) Kill() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if h.init != nil && !isDone(h.init) {
		err := h.init.Call(ctx, wire.OpAgentsKill, nil, nil)
		if err == nil {
			h.closeAgents()
			return nil
		}
		fmt.Fprintf(h.b.run.Log, "[%s] the container's init did not kill the agents (%v): killing the container instead, its network state is lost\n", h.name, err)
	}
	return h.stop(ctx)
}

// closeAgents closes the runner's side of every agent connection.
func (h *host) closeAgents() {
	for _, c := range h.conns {
		_ = c.Close()
	}
	h.conns = nil
}

// stop kills the container if it runs, waits until it no longer does and
// drops the connections to its init and agents; its network namespace is
// gone with it, so the next start applies the host's plan again.
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
	h.closeAgents()
	if h.initConn != nil {
		_ = h.initConn.Close()
	}
	h.init, h.initConn, h.netReady = nil, nil, false
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
