package natbox

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/testbed/natcfg"
)

// Test addresses, all inside 198.18.0.0/15.
var (
	clientA   = netip.MustParseAddr("198.18.200.2")
	clientB   = netip.MustParseAddr("198.18.201.2")
	blockA    = netip.MustParsePrefix("198.18.200.0/24")
	blockB    = netip.MustParsePrefix("198.18.201.0/24")
	natIP1    = netip.MustParseAddr("198.19.200.1")
	natIP2    = netip.MustParseAddr("198.19.200.2")
	natIP5    = netip.MustParseAddr("198.19.200.5")
	backendIP = netip.MustParseAddr("198.19.200.100")
	ports256  = portrange.Range{First: 1024, Last: 1279}
)

// topo is client-ns <-veth-> nat-ns <-veth-> backend-ns, all unnamed
// namespaces that vanish when the test closes its handles and sockets.
type topo struct {
	client, nat, backend netns.NsHandle
	box                  *nsBox
}

// nsBox is the Box of a topo, every call made from a thread in the NAT
// namespace: the Box's sockets are bound there already, and should a
// change make a call open a socket or touch a sysctl of the calling
// thread, that still lands in the NAT namespace, never the test's own
// (the host's).
type nsBox struct {
	b  *Box
	ns netns.NsHandle
}

func (x *nsBox) Apply(cfg natcfg.Config) error {
	return inNS(x.ns, func() error { return x.b.Apply(cfg) })
}

func (x *nsBox) Remove() error { return inNS(x.ns, x.b.Remove) }

func (x *nsBox) Close() error { return inNS(x.ns, x.b.Close) }

func (x *nsBox) Flush(f natcfg.FlushFilter) (n int, err error) {
	err = inNS(x.ns, func() (err error) { n, err = x.b.Flush(f); return err })
	return n, err
}

func (x *nsBox) Snapshot() (s string, err error) {
	err = inNS(x.ns, func() (err error) { s, err = x.b.Snapshot(); return err })
	return s, err
}

func (x *nsBox) VMs(ch natcfg.VMChange) (r natcfg.VMResult, err error) {
	err = inNS(x.ns, func() (err error) { r, err = x.b.VMs(ch); return err })
	return r, err
}

func (x *nsBox) Change(cfg natcfg.Config) (r natcfg.ChangeResult, err error) {
	err = inNS(x.ns, func() (err error) { r, err = x.b.Change(cfg); return err })
	return r, err
}

func (x *nsBox) Config() (natcfg.Config, bool) { return x.b.Config() }

func (x *nsBox) Metrics() (m natcfg.Metrics, err error) {
	err = inNS(x.ns, func() (err error) { m, err = x.b.Metrics(); return err })
	return m, err
}

// requireRoot fails (never skips) when the test cannot manage namespaces.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("natbox kernel tests need root (CAP_NET_ADMIN, CAP_SYS_ADMIN) to create network namespaces; run as root")
	}
}

// inNS runs fn on a fresh OS thread switched into ns. The thread is never
// unlocked, so Go discards it afterwards instead of reusing a thread that
// sits in a foreign namespace.
func inNS(ns netns.NsHandle, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := netns.Set(ns); err != nil {
			errc <- fmt.Errorf("enter netns: %w", err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

func newNS(t *testing.T) netns.NsHandle {
	t.Helper()
	type res struct {
		h   netns.NsHandle
		err error
	}
	c := make(chan res, 1)
	go func() {
		runtime.LockOSThread() // thread is discarded: it stays in the new ns
		h, err := netns.New()
		c <- res{h, err}
	}()
	r := <-c
	if r.err != nil {
		t.Fatalf("create netns: %v", r.err)
	}
	t.Cleanup(func() { _ = r.h.Close() })
	return r.h
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func addAddr(t *testing.T, h *netlink.Handle, link netlink.Link, cidr string) {
	t.Helper()
	a, err := netlink.ParseAddr(cidr)
	must(t, err, "parse "+cidr)
	must(t, h.AddrAdd(link, a), "add address "+cidr)
}

// newTopo builds the three namespaces, enables forwarding in the NAT ns and
// opens a Box there. NAT IPs .1 .2 .3 .5 are on wan0.
func newTopo(t *testing.T) *topo {
	t.Helper()
	requireRoot(t)
	tp := &topo{client: newNS(t), nat: newNS(t), backend: newNS(t)}
	nh, err := netlink.NewHandleAt(tp.nat)
	must(t, err, "netlink handle in nat ns")
	defer nh.Close()
	ch, err := netlink.NewHandleAt(tp.client)
	must(t, err, "netlink handle in client ns")
	defer ch.Close()
	bh, err := netlink.NewHandleAt(tp.backend)
	must(t, err, "netlink handle in backend ns")
	defer bh.Close()

	must(t, nh.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "lan0"}, PeerName: "c0", PeerNamespace: netlink.NsFd(tp.client)}), "add veth lan0")
	must(t, nh.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "wan0"}, PeerName: "b0", PeerNamespace: netlink.NsFd(tp.backend)}), "add veth wan0")
	up := func(h *netlink.Handle, name string, addrs ...string) {
		l, err := h.LinkByName(name)
		must(t, err, "find "+name)
		for _, a := range addrs {
			addAddr(t, h, l, a)
		}
		must(t, h.LinkSetUp(l), "up "+name)
	}
	up(nh, "lo")
	up(ch, "lo")
	up(bh, "lo")
	up(nh, "lan0", "198.18.200.1/24", "198.18.201.1/24")
	up(nh, "wan0", "198.19.200.254/24", "198.19.200.1/32", "198.19.200.2/32", "198.19.200.3/32", "198.19.200.5/32")
	up(ch, "c0", "198.18.200.2/24", "198.18.201.2/24", "198.18.200.3/24", "198.18.200.4/24")
	up(bh, "b0", "198.19.200.100/24")
	c0, err := ch.LinkByName("c0")
	must(t, err, "find c0")
	_, dst, _ := net.ParseCIDR("198.19.0.0/16")
	must(t, ch.RouteAdd(&netlink.Route{LinkIndex: c0.Attrs().Index, Dst: dst, Gw: net.ParseIP("198.18.200.1")}), "client route")

	must(t, inNS(tp.nat, func() error {
		if _, err := SetSysctl("net.ipv4.ip_forward", "1"); err != nil {
			return err
		}
		b, err := Open()
		tp.box = &nsBox{b: b, ns: tp.nat}
		return err
	}), "open box in nat ns")
	t.Cleanup(func() { _ = tp.box.Close() })
	return tp
}

// metrics reads the box metrics from inside the NAT namespace.
func (tp *topo) metrics(t *testing.T) natcfg.Metrics {
	t.Helper()
	var m natcfg.Metrics
	m, err := tp.box.Metrics()
	must(t, err, "metrics")
	return m
}

// server is a TCP echo listener in the backend ns that records peers and
// counts the connections whose read failed with ECONNRESET.
type server struct {
	ln     net.Listener
	mu     sync.Mutex
	peers  []netip.AddrPort
	conns  []net.Conn
	resets int
}

func (tp *topo) listen(t *testing.T, port uint16) *server {
	t.Helper()
	s := &server{}
	must(t, inNS(tp.backend, func() (err error) {
		s.ln, err = net.Listen("tcp4", netip.AddrPortFrom(backendIP, port).String())
		return err
	}), "listen in backend ns")
	t.Cleanup(func() {
		_ = s.ln.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.conns {
			_ = c.Close()
		}
	})
	go func() {
		for {
			c, err := s.ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.peers = append(s.peers, c.RemoteAddr().(*net.TCPAddr).AddrPort())
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			go s.echo(c)
		}
	}()
	return s
}

// echo writes back what c sends until a read fails, counting a reset.
func (s *server) echo(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 512)
	for {
		n, err := c.Read(buf)
		if err != nil {
			if errors.Is(err, syscall.ECONNRESET) {
				s.mu.Lock()
				s.resets++
				s.mu.Unlock()
			}
			return
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}

// count is how many connections the server saw reset.
func (s *server) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resets
}

func (s *server) seen() []netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]netip.AddrPort(nil), s.peers...)
}

// dialResult is what a batch of nonblocking connects produced.
type dialResult struct {
	connected []int // fds of established connections
	pending   []int // fds still connecting (SYN dropped) or failed
}

func (r dialResult) closeAll() {
	for _, fd := range append(r.connected, r.pending...) {
		_ = unix.Close(fd)
	}
}

// dialMany starts n nonblocking connects from src in the client ns and
// waits up to wait for them. Open fds are closed at test cleanup.
func (tp *topo) dialMany(t *testing.T, src netip.Addr, dsts []netip.AddrPort, wait time.Duration) dialResult {
	t.Helper()
	var r dialResult
	must(t, inNS(tp.client, func() error {
		var err error
		r, err = dialBatch(src, dsts, wait)
		return err
	}), "dial batch")
	t.Cleanup(r.closeAll)
	return r
}

// dialBatch must run in the client ns.
func dialBatch(src netip.Addr, dsts []netip.AddrPort, wait time.Duration) (dialResult, error) {
	var r dialResult
	pending := map[int]bool{}
	for _, d := range dsts {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			r.closeAll()
			return r, fmt.Errorf("socket: %w", err)
		}
		r.pending = append(r.pending, fd)
		if src.IsValid() {
			if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: src.As4()}); err != nil {
				r.closeAll()
				return r, fmt.Errorf("bind %s: %w", src, err)
			}
		}
		err = unix.Connect(fd, &unix.SockaddrInet4{Addr: d.Addr().As4(), Port: int(d.Port())})
		if err != nil && !errors.Is(err, unix.EINPROGRESS) {
			r.closeAll()
			return r, fmt.Errorf("connect %s: %w", d, err)
		}
		pending[fd] = true
	}
	deadline := time.Now().Add(wait)
	// Poll once more after the deadline, without waiting: a connect that
	// completed while this thread was not running (a loaded machine) is
	// connected, whatever the clock says by the time it looks.
	for last := false; len(pending) > 0 && !last; {
		last = !time.Now().Before(deadline)
		pfds := make([]unix.PollFd, 0, len(pending))
		for fd := range pending {
			pfds = append(pfds, unix.PollFd{Fd: int32(fd), Events: unix.POLLOUT})
		}
		ms := max(int(time.Until(deadline).Milliseconds())+1, 0)
		if last {
			ms = 0
		}
		if _, err := unix.Poll(pfds, ms); err != nil && !errors.Is(err, unix.EINTR) {
			return r, fmt.Errorf("poll: %w", err)
		}
		for _, p := range pfds {
			if p.Revents == 0 {
				continue
			}
			delete(pending, int(p.Fd))
			if soErr, err := unix.GetsockoptInt(int(p.Fd), unix.SOL_SOCKET, unix.SO_ERROR); err == nil && soErr == 0 {
				r.connected = append(r.connected, int(p.Fd))
			}
		}
	}
	var still []int
	ok := map[int]bool{}
	for _, fd := range r.connected {
		ok[fd] = true
	}
	for _, fd := range r.pending {
		if !ok[fd] {
			still = append(still, fd)
		}
	}
	r.pending = still
	return r, nil
}

// sequential connects and closes n times to dst from the client ns, one
// connection after the other, at most one per interval, and counts
// connects that completed within timeout.
func (tp *topo) sequential(t *testing.T, dst netip.AddrPort, n int, interval, timeout time.Duration) (ok, failed int) {
	t.Helper()
	must(t, inNS(tp.client, func() error {
		for i := 0; i < n; i++ {
			start := time.Now()
			r, err := dialBatch(netip.Addr{}, []netip.AddrPort{dst}, timeout)
			if err != nil {
				return err
			}
			if len(r.connected) == 1 {
				ok++
			} else {
				failed++
			}
			r.closeAll()
			if d := interval - time.Since(start); d > 0 {
				time.Sleep(d)
			}
		}
		return nil
	}), "sequential connects")
	return ok, failed
}

// verdicts connects n times to dst from the client ns, one connection
// after the other (each closed before the next), at most one per
// interval, and takes each connect's outcome from the kernel rather than
// a clock: it is ok once established, and dropped once the NAT box counts
// one more allocation failure (its SYN got no port, or a held one); the
// socket is then closed, meant at once, so that no retransmit follows. On
// a loaded machine the NAT's counters can take over the 1 s to the
// kernel's retransmit to read (seen at -p 2 and -p 4), so the socket's
// own state decides what it did: established by then, it is ok; still
// connecting after a retransmit, it is late (the NAT may have mapped the
// retransmit, and the close then answers the SYN-ACK with a RST that the
// hold takes as the flow's end). A connect that is neither within wait (a
// SYN met something else, and its retransmit, 1 s later, did not connect
// either) fails the test.
func (tp *topo) verdicts(t *testing.T, dst netip.AddrPort, n int, interval, wait time.Duration) (ok, dropped, late int) {
	t.Helper()
	failures := func() (uint64, error) {
		m, err := tp.box.Metrics()
		return m.AllocationFailures, err
	}
	must(t, inNS(tp.client, func() error {
		for i := range n {
			start := time.Now()
			before, err := failures()
			if err != nil {
				return err
			}
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return fmt.Errorf("socket: %w", err)
			}
			err = unix.Connect(fd, &unix.SockaddrInet4{Addr: dst.Addr().As4(), Port: int(dst.Port())})
			if err != nil && !errors.Is(err, unix.EINPROGRESS) {
				_ = unix.Close(fd)
				return fmt.Errorf("connect %d: %w", i, err)
			}
			verdict := ""
			for deadline := time.Now().Add(wait); verdict == ""; {
				pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
				if _, err := unix.Poll(pfd, 10); err != nil && !errors.Is(err, unix.EINTR) {
					_ = unix.Close(fd)
					return fmt.Errorf("poll: %w", err)
				}
				if pfd[0].Revents != 0 {
					soErr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
					if err != nil || soErr != 0 {
						_ = unix.Close(fd)
						return fmt.Errorf("connect %d failed: %v %v", i, unix.Errno(soErr), err)
					}
					verdict = "ok"
					break
				}
				now, err := failures()
				if err != nil {
					_ = unix.Close(fd)
					return err
				}
				switch {
				case now > before:
					verdict = "dropped"
				case time.Now().After(deadline):
					_ = unix.Close(fd)
					return fmt.Errorf("connect %d: neither established nor dropped by the NAT within %v", i, wait)
				}
			}
			if verdict == "dropped" {
				info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
				switch {
				case err != nil:
					_ = unix.Close(fd)
					return fmt.Errorf("connect %d: tcp_info: %w", i, err)
				case info.State == tcpEstablished:
					verdict = "ok" // its retransmit connected
				case info.Total_retrans > 0:
					verdict = "late"
				}
			}
			_ = unix.Close(fd)
			switch verdict {
			case "ok":
				ok++
			case "late":
				late++
				dropped++
			default:
				dropped++
			}
			if d := interval - time.Since(start); d > 0 {
				time.Sleep(d)
			}
		}
		return nil
	}), "sequential connects")
	return ok, dropped, late
}

// tcpEstablished is TCP_ESTABLISHED, the state tcp_info reports.
const tcpEstablished = 1

// fdConn wraps a connected socket fd (any namespace) in a net.Conn.
func fdConn(t *testing.T, fd int) net.Conn {
	t.Helper()
	dup, err := unix.Dup(fd)
	must(t, err, "dup fd")
	f := os.NewFile(uintptr(dup), "sock")
	defer f.Close()
	c, err := net.FileConn(f)
	must(t, err, "file conn")
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// echo writes msg on c and expects it back within a second.
func echo(c net.Conn, msg string) error {
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return fmt.Errorf("read echo: %w", err)
	}
	if string(buf) != msg {
		return fmt.Errorf("echo %q, want %q", buf, msg)
	}
	return nil
}

func dests(port uint16, n int) []netip.AddrPort {
	out := make([]netip.AddrPort, n)
	for i := range out {
		out[i] = netip.AddrPortFrom(backendIP, port)
	}
	return out
}

func onePool(ports portrange.Range, ips ...netip.Addr) natcfg.Config {
	return natcfg.Config{WAN: "wan0", Pools: []natcfg.Pool{{Name: "main", Sources: []netip.Prefix{blockA, blockB}, IPs: ips, Ports: ports}}}
}
