package natcfg

import (
	"net/netip"

	"github.com/natlab/natlab/internal/portrange"
)

// Test addresses, all inside 198.18.0.0/15.
var (
	clientA  = netip.MustParseAddr("198.18.200.2")
	blockA   = netip.MustParsePrefix("198.18.200.0/24")
	blockB   = netip.MustParsePrefix("198.18.201.0/24")
	natIP1   = netip.MustParseAddr("198.19.200.1")
	natIP2   = netip.MustParseAddr("198.19.200.2")
	ports256 = portrange.Range{First: 1024, Last: 1279}
)

func onePool(ports portrange.Range, ips ...netip.Addr) Config {
	return Config{WAN: "wan0", Pools: []Pool{{Name: "main", Sources: []netip.Prefix{blockA, blockB}, IPs: ips, Ports: ports}}}
}
