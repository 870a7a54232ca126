package agent

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// The listen queues of a backend's namespace: net.core.somaxconn caps
// every listen backlog, net.ipv4.tcp_max_syn_backlog the half-open
// connections per listener. Both are per network namespace.
const (
	somaxconnPath    = "/proc/sys/net/core/somaxconn"
	maxSynBacklogPth = "/proc/sys/net/ipv4/tcp_max_syn_backlog"
)

// raiseListenQueues raises somaxconn and tcp_max_syn_backlog of the
// agent's own namespace to at least backlog, so the kernel does not cap
// the listeners' backlog below what the spec asked. It never lowers them:
// a small backlog on purpose is the listener's, not the namespace's.
func raiseListenQueues(backlog int) error {
	if backlog <= 0 {
		return nil
	}
	for _, p := range []string{somaxconnPath, maxSynBacklogPth} {
		raw, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		cur, err := strconv.Atoi(strings.TrimSpace(string(raw)))
		if err != nil {
			return fmt.Errorf("read %s: %q is not a number", p, raw)
		}
		if cur >= backlog {
			continue
		}
		if err := os.WriteFile(p, []byte(strconv.Itoa(backlog)), 0o644); err != nil {
			return fmt.Errorf("raise %s from %d to %d for the listen backlog: %w", p, cur, backlog, err)
		}
	}
	return nil
}

// listenDrops reads ListenOverflows and ListenDrops from the TcpExt
// counters of the agent's namespace (/proc/net/netstat).
func listenDrops() (overflows, drops uint64, err error) {
	raw, err := os.ReadFile("/proc/net/netstat")
	if err != nil {
		return 0, 0, err
	}
	v := tcpExt(raw)
	return v["ListenOverflows"], v["ListenDrops"], nil
}

// tcpExt parses the TcpExt header and value lines of /proc/net/netstat.
func tcpExt(raw []byte) map[string]uint64 {
	out := map[string]uint64{}
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != "TcpExt:" {
			continue
		}
		if names == nil {
			names = f[1:]
			continue
		}
		for i, x := range f[1:] {
			if i < len(names) {
				if n, err := strconv.ParseUint(x, 10, 64); err == nil {
					out[names[i]] = n
				}
			}
		}
		break
	}
	return out
}
