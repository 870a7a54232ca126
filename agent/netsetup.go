package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/natlab/natlab/agent/wire"
)

func registerNetSetup(h wire.Handlers) {
	h[wire.OpNetSetup] = func(_ context.Context, args json.RawMessage, _ wire.Emitter) (any, error) {
		var s wire.NetSetup
		if err := wire.Decode(args, &s); err != nil {
			return nil, err
		}
		return nil, ApplyNetSetup(s)
	}
}

// ApplyNetSetup applies s in the calling thread's network namespace.
func ApplyNetSetup(s wire.NetSetup) error {
	for _, lp := range s.Links {
		if err := applyLink(lp); err != nil {
			return err
		}
	}
	if s.DropDefault {
		if err := dropDefault(); err != nil {
			return err
		}
	}
	for _, rp := range s.Routes {
		if err := applyRoute(rp); err != nil {
			return err
		}
	}
	return nil
}

func applyLink(lp wire.LinkPlan) error {
	if !lp.Has.IsValid() {
		return errors.New("net setup: a link plan needs the address that finds its interface")
	}
	link, err := linkWithAddr(lp.Has)
	if err != nil {
		return err
	}
	if lp.Rename != "" && link.Attrs().Name != lp.Rename {
		old := link.Attrs().Name
		if err := netlink.LinkSetDown(link); err != nil {
			return fmt.Errorf("net setup: set %s down: %w", old, err)
		}
		if err := netlink.LinkSetName(link, lp.Rename); err != nil {
			return fmt.Errorf("net setup: rename %s to %s: %w", old, lp.Rename, err)
		}
		if link, err = netlink.LinkByName(lp.Rename); err != nil {
			return fmt.Errorf("net setup: find %s: %w", lp.Rename, err)
		}
	}
	name := link.Attrs().Name
	for _, a := range lp.Addrs {
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: net.IP(a.Addr().AsSlice()), Mask: net.CIDRMask(a.Bits(), a.Addr().BitLen())}}
		if err := netlink.AddrReplace(link, addr); err != nil {
			return fmt.Errorf("net setup: add %s to %s: %w", a, name, err)
		}
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("net setup: set %s up: %w", name, err)
	}
	return nil
}

// linkWithAddr finds the interface that holds a.
func linkWithAddr(a netip.Addr) (netlink.Link, error) {
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("net setup: list addresses: %w", err)
	}
	for _, x := range addrs {
		got, ok := netip.AddrFromSlice(x.IP)
		if ok && got.Unmap() == a.Unmap() {
			link, err := netlink.LinkByIndex(x.LinkIndex)
			if err != nil {
				return nil, fmt.Errorf("net setup: find interface of %s: %w", a, err)
			}
			return link, nil
		}
	}
	return nil, fmt.Errorf("net setup: no interface holds %s", a)
}

func applyRoute(rp wire.RoutePlan) error {
	if !rp.Via.IsValid() {
		return errors.New("net setup: a route needs a gateway")
	}
	r := &netlink.Route{Gw: net.IP(rp.Via.AsSlice())}
	if rp.Dst.IsValid() {
		r.Dst = &net.IPNet{IP: net.IP(rp.Dst.Masked().Addr().AsSlice()), Mask: net.CIDRMask(rp.Dst.Bits(), rp.Dst.Addr().BitLen())}
	}
	if err := netlink.RouteReplace(r); err != nil {
		dst := "default"
		if rp.Dst.IsValid() {
			dst = rp.Dst.String()
		}
		return fmt.Errorf("net setup: route %s via %s: %w", dst, rp.Via, err)
	}
	return nil
}

// dropDefault deletes the IPv4 default routes of the main table.
func dropDefault() error {
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return fmt.Errorf("net setup: list routes: %w", err)
	}
	for _, r := range routes {
		if r.Dst != nil {
			if ones, _ := r.Dst.Mask.Size(); ones != 0 {
				continue
			}
		}
		if err := netlink.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("net setup: delete default route: %w", err)
		}
	}
	return nil
}
