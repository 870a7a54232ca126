package wire

import (
	"net/netip"
	"os"
	"strings"
)

// OpNetSetup applies a host's network plan from inside the host: the
// docker backend uses it, since a container's interfaces are made by
// docker and the image has no shell.
const OpNetSetup = "net.setup" // NetSetup

// NetSetup is the network plan of one host: interfaces first (found by an
// address they already hold), then routes. Applying it twice is harmless.
type NetSetup struct {
	// DropDefault removes every IPv4 default route first (the one docker
	// gives containers points out of the testbed).
	DropDefault bool        `json:"drop_default,omitempty"`
	Links       []LinkPlan  `json:"links,omitempty"`
	Routes      []RoutePlan `json:"routes,omitempty"`
}

// LinkPlan finds the interface holding Has, renames it to Rename (when
// set), adds Addrs and sets it up.
type LinkPlan struct {
	Has    netip.Addr     `json:"has"`
	Rename string         `json:"rename,omitempty"`
	Addrs  []netip.Prefix `json:"addrs,omitempty"`
}

// RoutePlan is a route to Dst (the default route when Dst is the zero
// prefix) via the on-link gateway Via; it replaces any route to Dst.
type RoutePlan struct {
	Dst netip.Prefix `json:"dst"`
	Via netip.Addr   `json:"via"`
}

// Kernel is the running kernel's release, as uname -r prints it.
func Kernel() string {
	raw, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(raw))
}

// DropTable is the nftables table the chaos drop rules live in.
const DropTable = "natlab_chaos"

// DropRule is one chain of drop rules on the forward hook: a random Percent of
// packets, or every packet to or from Blackhole.
type DropRule struct {
	Chain     string       `json:"chain"`
	Percent   int          `json:"percent,omitempty"`
	Blackhole netip.Prefix `json:"blackhole,omitzero"`
}
