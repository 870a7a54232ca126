package servers

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/natlab/natlab/testbed/service"
)

// A server's accepted connections send no TCP keep-alive probes: the
// kernel arms no keep-alive timer on the server's side of an idle
// connection (the timer column of /proc/net/tcp, 2 for keep-alive, is 0),
// where Go's default would arm one for 15 s.
func TestAcceptedConnectionsSendNoKeepAlive(t *testing.T) {
	s := start(t, service.Spec{Protocol: service.TCPEcho})
	c := dial(t, s)
	if got := echoOnce(t, c, "idle next"); got != "idle next" {
		t.Fatalf("echo = %q", got)
	}
	// The server's side: local address the server's, remote the client's.
	local, remote := hexAddr(s.Addr().(*net.TCPAddr)), hexAddr(c.LocalAddr().(*net.TCPAddr))
	var row string
	if !eventually(2*time.Second, func() bool { row = tcpRow(t, local, remote); return row != "" }) {
		t.Fatalf("no row %s -> %s in /proc/net/tcp", local, remote)
	}
	// sl local rem st tx:rx tr:when ...
	f := strings.Fields(row)
	if tr := strings.SplitN(f[5], ":", 2)[0]; tr != "00" {
		t.Errorf("server-side socket timer %s (row %q), want 00: no keep-alive timer", tr, row)
	}
}

// hexAddr is a as /proc/net/tcp writes it: the IPv4 address as a
// little-endian hex word, the port in hex.
func hexAddr(a *net.TCPAddr) string {
	ip := a.IP.To4()
	return fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], a.Port)
}

// tcpRow is the /proc/net/tcp row of the socket local -> remote, or "".
func tcpRow(t *testing.T, local, remote string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 5 && f[1] == local && f[2] == remote {
			return l
		}
	}
	return ""
}
