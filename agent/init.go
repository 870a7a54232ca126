package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/natlab/natlab/agent/wire"
)

// roleInit is the hidden mode `natlab agent init`: the first process of a
// docker host's container. It serves no role. It holds the container, and
// with it the network namespace (interfaces, routes, nftables rules,
// conntrack, sysctls), while the agents, all started with docker exec,
// come and go: killing a host's agents is then what it is on netns, a
// crash of processes and not of the host. It reaps the children the
// kernel hands it, exits on SIGTERM, and on request (agents.kill over its
// socket) SIGKILLs every other process of the container.
const roleInit = "init"

// killWait bounds how long agents.kill waits for the killed processes to
// be gone.
const killWait = 10 * time.Second

// runInit is pid 1 of a container until SIGTERM (ctx), serving agents.kill
// to every runner connection accepted at listen.
func runInit(ctx context.Context, host, listen string) error {
	// It kills every process it sees in /proc: refuse to run anywhere but
	// as the first process of a pid namespace whose /proc is its own.
	if self, err := os.Readlink("/proc/self"); os.Getpid() != 1 || err != nil || self != "1" {
		return fmt.Errorf("agent init must be the first process of a container (pid 1, /proc/self %q): it kills every other process it sees", self)
	}
	go reap(ctx)
	l, _, err := listenUnix(listen)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = l.Close() })
	defer stop()
	h := wire.Handlers{}
	hello := wire.Hello{Host: host, Role: roleInit, PID: os.Getpid(), Instance: newInstanceID(), Kernel: wire.Kernel()}
	h[wire.OpPing] = func(context.Context, json.RawMessage, wire.Emitter) (any, error) { return hello, nil }
	var killMu sync.Mutex
	h[wire.OpAgentsKill] = func(ctx context.Context, _ json.RawMessage, _ wire.Emitter) (any, error) {
		killMu.Lock()
		defer killMu.Unlock()
		n, err := killOthers(ctx, "/proc", os.Getpid(), killWait, func(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) })
		log.Printf("init of %s: killed %d processes", host, n)
		return n, err
	}
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accept: %w", err)
		}
		go func(c net.Conn) {
			defer c.Close()
			_ = wire.Serve(ctx, c, c, h)
		}(c)
	}
}

// reap waits for every child the kernel hands pid 1 (orphans of the
// container), so none stays a zombie.
func reap(ctx context.Context) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGCHLD)
	defer signal.Stop(sig)
	for {
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-sig:
		}
	}
}

// killOthers kills (with kill) every live process listed in the proc
// directory but self, again and again until none is left, and returns
// how many it killed. A zombie counts as gone: its files, sockets and
// listeners are closed when it exits, before its parent reaps it.
func killOthers(ctx context.Context, proc string, self int, wait time.Duration, kill func(pid int) error) (int, error) {
	killed := map[int]bool{}
	deadline := time.Now().Add(wait)
	for {
		live, err := liveProcesses(proc, self)
		if err != nil {
			return len(killed), err
		}
		if len(live) == 0 {
			return len(killed), nil
		}
		if time.Now().After(deadline) {
			return len(killed), fmt.Errorf("processes %v still alive %s after SIGKILL", live, wait)
		}
		for _, pid := range live {
			if err := kill(pid); err != nil && !errors.Is(err, syscall.ESRCH) {
				return len(killed), fmt.Errorf("kill %d: %w", pid, err)
			}
			killed[pid] = true
		}
		select {
		case <-ctx.Done():
			return len(killed), ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// liveProcesses lists the pids in the proc directory, but self, whose
// process is neither a zombie nor dead.
func liveProcesses(proc string, self int) ([]int, error) {
	entries, err := os.ReadDir(proc)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var live []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 || pid == self {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(proc, e.Name(), "stat"))
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			continue // gone since the listing
		}
		if err != nil {
			return nil, fmt.Errorf("read state of %d: %w", pid, err)
		}
		// "PID (COMM) STATE ...": COMM may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 || i+2 >= len(stat) {
			return nil, fmt.Errorf("state of %d: malformed %s/stat", pid, e.Name())
		}
		if st := stat[i+2]; st == 'Z' || st == 'X' || st == 'x' {
			continue
		}
		live = append(live, pid)
	}
	slices.Sort(live)
	return live, nil
}
