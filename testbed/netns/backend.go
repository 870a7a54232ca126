package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/natlab/natlab/testbed"
)

// Prefix starts the name of every namespace natlab makes:
// natlab-RUNID-HOST, and natlab-RUNID-fabric for the bridges.
const Prefix = "natlab-"

// fabricHost names the namespace that holds a run's bridges.
const fabricHost = "fabric"

// Options configure the backend.
type Options struct {
	// Exe and Args start an agent: Exe Args... ROLE --host NAME --run ID.
	// By default the running binary with "agent".
	Exe  string
	Args []string
}

// Backend makes every host of a run a named network namespace.
type Backend struct {
	opts Options

	mu     sync.Mutex
	run    *testbed.Run
	made   []string // namespace names, in creation order
	hosts  []*host
	fabric netns.NsHandle
}

var _ testbed.Backend = (*Backend)(nil)

// New returns a netns backend.
func New(opts Options) *Backend {
	if opts.Exe == "" {
		opts.Exe = "/proc/self/exe"
		if len(opts.Args) == 0 {
			opts.Args = []string{"agent"}
		}
	}
	return &Backend{opts: opts, fabric: netns.None()}
}

// Name is "netns".
func (b *Backend) Name() string { return "netns" }

// Isolated is true: every run has a fabric namespace of its own and
// nothing in the initial namespace, so its addresses clash with no other
// run's, whatever slot it has.
func (b *Backend) Isolated() bool { return true }

// NamespaceName is the namespace of host in run id.
func NamespaceName(runID, host string) string { return Prefix + runID + "-" + host }

// Create makes the fabric, every host namespace, their links, addresses
// and routes, in that order; Destroy removes whatever exists.
func (b *Backend) Create(ctx context.Context, run *testbed.Run) ([]testbed.Host, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if os.Geteuid() != 0 {
		return nil, testbed.ErrNotRoot
	}
	b.run = run
	var err error
	if b.fabric, err = b.newNS(fabricHost); err != nil {
		return nil, err
	}
	fab, err := netlink.NewHandleAt(b.fabric)
	if err != nil {
		return nil, fmt.Errorf("open fabric netlink: %w", err)
	}
	defer fab.Close()
	if err := loUp(fab); err != nil {
		return nil, err
	}
	brWAN, err := addBridge(fab, "br-wan")
	if err != nil {
		return nil, err
	}
	lanBridges := map[string]int{}
	for i, bl := range run.Layout.Blocks {
		idx, err := addBridge(fab, fmt.Sprintf("br-lan%d", i))
		if err != nil {
			return nil, err
		}
		lanBridges[bl.Name] = idx
	}
	l := run.Layout
	for i, n := range l.NATs {
		h, err := b.newHost(n.Name, testbed.RoleNAT)
		if err != nil {
			return nil, err
		}
		var addrs []netip.Prefix
		for _, ip := range n.IPs {
			addrs = append(addrs, netip.PrefixFrom(ip, l.Public.Bits()))
		}
		if err := b.wire(fab, h, fmt.Sprintf("n%d-wan", i), brWAN, "wan0", addrs); err != nil {
			return nil, err
		}
		for _, bl := range l.Blocks {
			if bl.NAT != n.Name {
				continue
			}
			gw := []netip.Prefix{netip.PrefixFrom(bl.Gateway, bl.Link.Bits())}
			if err := b.wire(fab, h, fmt.Sprintf("n%d-%s", i, bl.LAN), lanBridges[bl.Name], bl.LAN, gw); err != nil {
				return nil, err
			}
			for _, c := range l.Hosts {
				if c.Block == bl.Name {
					if err := h.route(c.Prefix, c.Link, bl.LAN); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	for i, c := range l.Hosts {
		role := testbed.RoleClient
		if c.Role != "" {
			role = c.Role
		}
		h, err := b.newHost(c.Name, role)
		if err != nil {
			return nil, err
		}
		bl, _ := l.Block(c.Block)
		addrs := []netip.Prefix{netip.PrefixFrom(c.Link, bl.Link.Bits())}
		for _, s := range c.Sources {
			addrs = append(addrs, netip.PrefixFrom(s, 32))
		}
		if err := b.wire(fab, h, fmt.Sprintf("c%d", i), lanBridges[c.Block], testbed.HostInterface, addrs); err != nil {
			return nil, err
		}
		if err := h.route(netip.Prefix{}, bl.Gateway, testbed.HostInterface); err != nil {
			return nil, err
		}
		for _, r := range testbed.AppRoutes(l, c) {
			if err := h.route(r.Dst, r.Via, testbed.HostInterface); err != nil {
				return nil, err
			}
		}
	}
	for i, be := range l.Backends {
		h, err := b.newHost(be.Name, testbed.RoleBackend)
		if err != nil {
			return nil, err
		}
		addrs := []netip.Prefix{netip.PrefixFrom(be.Addr, l.Public.Bits())}
		if err := b.wire(fab, h, fmt.Sprintf("b%d", i), brWAN, testbed.HostInterface, addrs); err != nil {
			return nil, err
		}
	}
	out := make([]testbed.Host, len(b.hosts))
	for i, h := range b.hosts {
		out[i] = h
	}
	return out, ctx.Err()
}

// newNS creates the namespace for host and records it for Destroy before
// anything else can fail.
func (b *Backend) newNS(hostName string) (netns.NsHandle, error) {
	name := NamespaceName(b.run.ID, hostName)
	h, err := newNamed(name)
	if err != nil {
		return netns.None(), err
	}
	b.made = append(b.made, name)
	return h, nil
}

func (b *Backend) newHost(name string, role testbed.Role) (*host, error) {
	ns, err := b.newNS(name)
	if err != nil {
		return nil, err
	}
	h := &host{name: name, role: role, ns: ns, nsName: NamespaceName(b.run.ID, name), run: b.run, opts: b.opts}
	b.hosts = append(b.hosts, h)
	if h.nl, err = netlink.NewHandleAt(ns); err != nil {
		return nil, fmt.Errorf("open netlink in %s: %w", name, err)
	}
	if err := loUp(h.nl); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return h, nil
}

// wire connects host h to a fabric bridge with a veth pair: fabName on
// the bridge side, ifName inside the host, with addrs on it, up.
func (b *Backend) wire(fab *netlink.Handle, h *host, fabName string, bridge int, ifName string, addrs []netip.Prefix) error {
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: fabName, MasterIndex: bridge, TxQLen: 1000},
		PeerName:      ifName,
		PeerNamespace: netlink.NsFd(int(h.ns)),
	}
	if err := fab.LinkAdd(veth); err != nil {
		return fmt.Errorf("add veth %s for %s: %w", fabName, h.name, err)
	}
	if err := fab.LinkSetUp(veth); err != nil {
		return fmt.Errorf("set %s up: %w", fabName, err)
	}
	link, err := h.nl.LinkByName(ifName)
	if err != nil {
		return fmt.Errorf("%s: find %s: %w", h.name, ifName, err)
	}
	for _, a := range addrs {
		addr := &netlink.Addr{IPNet: ipNet(a)}
		if err := h.nl.AddrAdd(link, addr); err != nil {
			return fmt.Errorf("%s: add address %s to %s: %w", h.name, a, ifName, err)
		}
	}
	if err := h.nl.LinkSetUp(link); err != nil {
		return fmt.Errorf("%s: set %s up: %w", h.name, ifName, err)
	}
	return nil
}

// Destroy stops the agents and deletes every namespace of the run; the
// kernel removes the veths and bridges with them.
func (b *Backend) Destroy(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	for _, h := range b.hosts {
		errs = append(errs, h.close())
	}
	b.hosts = nil
	if b.fabric.IsOpen() {
		b.fabric.Close()
	}
	for i := len(b.made) - 1; i >= 0; i-- {
		errs = append(errs, deleteNamespace(b.made[i]))
	}
	b.made = nil
	return errors.Join(errs...)
}

func loUp(h *netlink.Handle) error {
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo: %w", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	return nil
}

func addBridge(h *netlink.Handle, name string) (int, error) {
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
	if err := h.LinkAdd(br); err != nil {
		return 0, fmt.Errorf("add bridge %s: %w", name, err)
	}
	if err := h.LinkSetUp(br); err != nil {
		return 0, fmt.Errorf("set bridge %s up: %w", name, err)
	}
	link, err := h.LinkByName(name)
	if err != nil {
		return 0, fmt.Errorf("find bridge %s: %w", name, err)
	}
	return link.Attrs().Index, nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), 32)}
}

// deleteNamespace kills every process left in the namespace and removes
// its name; the kernel frees it once nothing holds it.
func deleteNamespace(name string) error {
	killIn(name)
	err := netns.DeleteNamed(name)
	if err != nil && !errors.Is(err, os.ErrNotExist) && !strings.Contains(err.Error(), "no such file") {
		return fmt.Errorf("delete netns %s: %w", name, err)
	}
	return nil
}
