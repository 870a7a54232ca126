package natbox

import (
	"net/netip"
	"testing"

	"github.com/ti-mo/conntrack"
	"golang.org/x/sys/unix"

	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/testbed/natcfg"
)

// The prediction sorts translated flows by the new config alone: a live
// TCP flow on a port its client no longer has is a reset, one on a NAT IP
// the config no longer has is a drop, a UDP flow that lost its port is a
// remap; TIME_WAIT entries, flows that keep their port and untranslated
// flows are left alone.
func TestPredictSortsFlowsByTheNewConfig(t *testing.T) {
	api := netip.MustParseAddr("198.19.250.10")
	other := netip.MustParseAddr("198.19.200.9")
	cfg := natcfg.Config{WAN: "wan0", Pools: []natcfg.Pool{{Name: "p", Sources: []netip.Prefix{blockA}, IPs: []netip.Addr{natIP1},
		Ports: ports256, Slices: []natcfg.Slice{{Source: clientA, IP: natIP1, Ports: portrange.Range{First: 1024, Last: 1087}}}}}}
	flow := func(proto uint8, natIP netip.Addr, natPort uint16, state uint8) conntrack.Flow {
		f := conntrack.Flow{
			TupleOrig: conntrack.Tuple{IP: conntrack.IPTuple{SourceAddress: clientA, DestinationAddress: api},
				Proto: conntrack.ProtoTuple{Protocol: proto, SourcePort: 40000 + natPort, DestinationPort: 8080}},
			TupleReply: conntrack.Tuple{IP: conntrack.IPTuple{SourceAddress: api, DestinationAddress: natIP},
				Proto: conntrack.ProtoTuple{Protocol: proto, SourcePort: 8080, DestinationPort: natPort}},
			Status: conntrack.Status{Value: conntrack.StatusSrcNAT | conntrack.StatusConfirmed},
		}
		if proto == unix.IPPROTO_TCP {
			f.ProtoInfo.TCP = &conntrack.ProtoInfoTCP{State: state}
		}
		return f
	}
	const established = 3
	untranslated := flow(unix.IPPROTO_TCP, clientA, 2000, established)
	untranslated.Status.Value = conntrack.StatusConfirmed
	flows := []conntrack.Flow{
		flow(unix.IPPROTO_TCP, natIP1, 1030, established),      // keeps its port
		flow(unix.IPPROTO_TCP, natIP1, 1100, established),      // beyond the block: reset
		flow(unix.IPPROTO_TCP, natIP1, 1101, tcpStateTimeWait), // closed: left alone
		flow(unix.IPPROTO_TCP, other, 1040, established),       // its NAT IP is gone: dropped
		flow(unix.IPPROTO_UDP, natIP1, 1200, 0),                // remapped
		flow(unix.IPPROTO_UDP, other, 1041, 0),                 // dropped
		untranslated,
	}
	res, reset, remap := predict(cfg, flows)
	want := natcfg.ChangeResult{PredictedResets: 1, PredictedDropped: 2, PredictedRemapped: 1}
	if res != want {
		t.Fatalf("predict = %+v, want %+v", res, want)
	}
	if len(reset) != 1 || reset[0].TupleReply.Proto.DestinationPort != 1100 {
		t.Errorf("reset flows %v, want the one on port 1100", reset)
	}
	if len(remap) != 1 || remap[0].TupleReply.Proto.DestinationPort != 1200 {
		t.Errorf("remapped flows %v, want the UDP one on port 1200", remap)
	}
}
