package netns

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"sync"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/testbed"
)

// host is one namespace and the agent processes running in it.
type host struct {
	name   string
	role   testbed.Role
	ns     netns.NsHandle
	nsName string
	nl     *netlink.Handle
	run    *testbed.Run
	opts   Options

	mu    sync.Mutex
	procs []*exec.Cmd
}

var _ testbed.Host = (*host)(nil)

func (h *host) Name() string       { return h.name }
func (h *host) Role() testbed.Role { return h.role }

// route adds a route to dst (the default route when dst is zero) via gw
// on dev.
func (h *host) route(dst netip.Prefix, gw netip.Addr, dev string) error {
	link, err := h.nl.LinkByName(dev)
	if err != nil {
		return fmt.Errorf("%s: find %s: %w", h.name, dev, err)
	}
	r := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: net.IP(gw.AsSlice())}
	if dst.IsValid() {
		r.Dst = ipNet(dst)
	}
	if err := h.nl.RouteAdd(r); err != nil {
		return fmt.Errorf("%s: add route %v via %s: %w", h.name, dst, gw, err)
	}
	return nil
}

// StartAgent forks the agent from a thread inside the host's namespace, so
// the child starts there. The agent gets its own process group (a Ctrl-C
// at the terminal reaches the runner, which tears down in order) and dies
// with the runner (parent-death signal, and EOF on its stdin).
func (h *host) StartAgent(ctx context.Context, onEvent func(wire.Event)) (*wire.Conn, error) {
	args := append(append([]string{}, h.opts.Args...), string(h.role), "--host", h.name, "--run", h.run.ID)
	cmd := exec.Command(h.opts.Exe, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: agent stdin: %w", h.name, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: agent stdout: %w", h.name, err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: agent stderr: %w", h.name, err)
	}
	if err := StartIn(h.ns, cmd); err != nil {
		return nil, fmt.Errorf("%s: start agent: %w", h.name, err)
	}
	h.mu.Lock()
	h.procs = append(h.procs, cmd)
	h.mu.Unlock()
	go copyLog(h.run.Log, h.name, stderr)
	conn := wire.NewConn(h.name, stdout, stdin, onEvent)
	go func() {
		<-conn.Done()
		_ = stdin.Close()
	}()
	if err := conn.Call(ctx, wire.OpPing, nil, nil); err != nil {
		_ = h.Kill()
		return nil, fmt.Errorf("%s: agent did not answer: %w", h.name, err)
	}
	return conn, nil
}

// Kill stops every agent of the host with SIGKILL and reaps them.
func (h *host) Kill() error {
	h.mu.Lock()
	procs := h.procs
	h.procs = nil
	h.mu.Unlock()
	for _, p := range procs {
		_ = p.Process.Kill()
	}
	for _, p := range procs {
		_ = p.Wait()
	}
	return nil
}

func (h *host) close() error {
	err := h.Kill()
	if h.nl != nil {
		h.nl.Close()
	}
	if h.ns.IsOpen() {
		err = errors.Join(err, h.ns.Close())
	}
	return err
}

func copyLog(w io.Writer, host string, r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fmt.Fprintf(w, "[%s] %s\n", host, sc.Text())
	}
}
