package natbox

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/ti-mo/conntrack"
	"golang.org/x/sys/unix"

	"github.com/natlab/natlab/testbed/natcfg"
)

// natPort identifies one used NAT port towards one destination.
type natPort struct {
	ip    netip.Addr
	proto string
	dst   netip.AddrPort
	port  uint16
}

// Metrics reads conntrack, its statistics, the forward counter and the held
// set. Mappings and utilization need the config applied through this Box.
func (b *Box) Metrics() (natcfg.Metrics, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var m natcfg.Metrics
	stats, err := b.ct.Stats()
	if err != nil {
		return m, fmt.Errorf("metrics: conntrack stats: %w", err)
	}
	for _, s := range stats {
		m.InsertFailed += uint64(s.InsertFailed)
		m.Drop += uint64(s.Drop)
		m.EarlyDrop += uint64(s.EarlyDrop)
	}
	m.AllocationFailures = ctDrops(m)
	fwd, err := GetSysctl("net.ipv4.ip_forward")
	if err != nil {
		return m, fmt.Errorf("metrics: %w", err)
	}
	m.IPForward = fwd == "1"

	var cfg natcfg.Config
	if b.cfg != nil {
		cfg = *b.cfg
	}
	isNAT := map[[4]byte]bool{}
	for _, ip := range cfg.NATIPs() {
		if ip.Is4() {
			isNAT[ip.As4()] = true
		}
	}
	used := usedPorts{}
	var held []natPort
	// A profile with a live part (gcp-cloud-nat) reads whole flows; the
	// others need only the tuples, which the light dump reads (tuples.go)
	// or, in a table of trackerLeast entries or more, the tracker keeps
	// (tracker.go).
	var flows []conntrack.Flow
	if b.run != nil {
		if flows, err = b.ct.Dump(nil); err != nil {
			return m, fmt.Errorf("metrics: conntrack dump: %w", err)
		}
		m.ConntrackEntries = len(flows)
		for _, f := range flows {
			r, o := f.TupleReply, f.TupleOrig
			if !r.IP.DestinationAddress.Is4() || !o.IP.SourceAddress.Is4() || !o.IP.DestinationAddress.Is4() {
				continue
			}
			used.note(ctTuples{proto: o.Proto.Protocol, origSrc: o.IP.SourceAddress.As4(), origDst: o.IP.DestinationAddress.As4(),
				origDport: o.Proto.DestinationPort, replyDst: r.IP.DestinationAddress.As4(), replyDport: r.Proto.DestinationPort}, isNAT)
		}
	} else {
		note := func(t *ctTuples) { used.note(*t, isNAT) }
		n, current, err := b.track.each(trackerLeast, note)
		if err != nil {
			return m, fmt.Errorf("metrics: %w", err)
		}
		if !current {
			if n, err = dumpTuples(b.dump, note); err != nil {
				return m, fmt.Errorf("metrics: conntrack dump: %w", err)
			}
		}
		m.ConntrackEntries = n
	}
	if ok, err := b.tableExists(); err != nil {
		return m, fmt.Errorf("metrics: %w", err)
	} else if ok {
		if m.ForwardedPackets, err = b.forwardedPackets(); err != nil {
			return m, fmt.Errorf("metrics: %w", err)
		}
		drops, err := b.policyDrops()
		if err != nil {
			return m, fmt.Errorf("metrics: %w", err)
		}
		m.PolicyDrops = b.carried + drops
		m.AllocationFailures += m.PolicyDrops
		if held, err = b.heldPorts(); err != nil {
			return m, fmt.Errorf("metrics: %w", err)
		}
		m.HeldPorts = len(held)
		for _, np := range held {
			if np.ip.Is4() && np.dst.Addr().Is4() && isNAT[np.ip.As4()] {
				used.add(portKey{natIP: np.ip.As4(), proto: unix.IPPROTO_TCP, dstIP: np.dst.Addr().As4(), dport: np.dst.Port()}, np.port)
			}
		}
	}
	m.Mappings = used.mappings()
	m.IPUtilization, m.PoolUtilization = utilization(cfg, m.Mappings)
	if b.run != nil {
		if err := b.run.metrics(flows, held, &m); err != nil {
			return m, fmt.Errorf("metrics: %w", err)
		}
	}
	// Every count above was read by now: a window that takes the reading
	// by this time never gets a count from after it ended.
	m.ReadAt = time.Now()
	return m, nil
}

// ctDrops is how many new flows conntrack dropped: a SYN whose NAT
// tuple clashes at confirmation is counted in both insert_failed and drop
// (nf_ct_resolve_clash), a flow dropped for a full table only in drop, so
// the larger of the two counts each dropped flow once.
func ctDrops(m natcfg.Metrics) uint64 { return max(m.InsertFailed, m.Drop) }

// heldPorts reads the held set (the table must exist).
func (b *Box) heldPorts() ([]natPort, error) {
	els, err := b.nft.GetSetElements(heldSet(natTable()))
	if err != nil {
		return nil, fmt.Errorf("held set: %w", err)
	}
	out := make([]natPort, 0, len(els))
	for _, el := range els {
		if np, ok := heldPort(el.Key); ok {
			out = append(out, np)
		}
	}
	return out, nil
}

// heldPort decodes a held-set key: NAT IP . NAT port . dst IP . dst port,
// each field in a 4-byte slot.
func heldPort(k []byte) (natPort, bool) {
	if len(k) != 16 {
		return natPort{}, false
	}
	ip := netip.AddrFrom4([4]byte(k[0:4]))
	dst := netip.AddrFrom4([4]byte(k[8:12]))
	return natPort{
		ip:    ip,
		proto: "tcp",
		dst:   netip.AddrPortFrom(dst, uint16(k[12])<<8|uint16(k[13])),
		port:  uint16(k[4])<<8 | uint16(k[5]),
	}, true
}

// utilization computes, per NAT IP and per pool, the worst destination's
// share of the ports available to it.
func utilization(cfg natcfg.Config, ms []natcfg.Mapping) (map[string]float64, map[string]float64) {
	perIP := map[string]float64{}
	perPool := map[string]float64{}
	type dest struct {
		proto string
		dst   netip.AddrPort
	}
	for _, p := range cfg.Pools {
		ipCap := map[netip.Addr]int{}
		poolCap := 0
		for _, ip := range p.IPs {
			if len(p.Slices) == 0 {
				ipCap[ip] = p.Ports.Size()
			}
		}
		for _, s := range p.Slices {
			ipCap[s.IP] += s.Ports.Size()
		}
		for _, ip := range p.IPs {
			poolCap += ipCap[ip]
			perIP[ip.String()] = 0
		}
		perPool[p.Name] = 0
		poolUse := map[dest]int{}
		for _, m := range ms {
			c, ok := ipCap[m.NATIP]
			if _, member := indexOf(p.IPs, m.NATIP); !member {
				continue
			}
			poolUse[dest{m.Protocol, m.Destination}] += m.Count
			if ok && c > 0 {
				perIP[m.NATIP.String()] = max(perIP[m.NATIP.String()], float64(m.Count)/float64(c))
			}
		}
		for _, n := range poolUse {
			if poolCap > 0 {
				perPool[p.Name] = max(perPool[p.Name], float64(n)/float64(poolCap))
			}
		}
	}
	return perIP, perPool
}

func indexOf(ips []netip.Addr, ip netip.Addr) (int, bool) {
	for i, x := range ips {
		if x == ip {
			return i, true
		}
	}
	return -1, false
}

// policyDrops sums the counters of the drop rules in natlab's chains as
// they are now (0 when the table does not exist).
func (b *Box) policyDrops() (uint64, error) {
	ok, err := b.tableExists()
	if err != nil || !ok {
		return 0, err
	}
	t := natTable()
	var sum uint64
	for _, name := range []string{chainPost, chainPostHld, chainFwd} {
		rules, err := b.nft.GetRules(t, &nftables.Chain{Name: name, Table: t})
		if err != nil {
			return 0, fmt.Errorf("read %s drop counters: %w", name, err)
		}
		for _, r := range rules {
			var packets uint64
			drop := false
			for _, e := range r.Exprs {
				switch e := e.(type) {
				case *expr.Counter:
					packets = e.Packets
				case *expr.Verdict:
					drop = e.Kind == expr.VerdictDrop
				}
			}
			if drop {
				sum += packets
			}
		}
	}
	return sum, nil
}

func (b *Box) forwardedPackets() (uint64, error) {
	t := natTable()
	rules, err := b.nft.GetRules(t, &nftables.Chain{Name: chainFwd, Table: t})
	if err != nil {
		return 0, fmt.Errorf("forward counter: %w", err)
	}
	if len(rules) == 0 {
		return 0, nil
	}
	for _, e := range rules[0].Exprs {
		if c, ok := e.(*expr.Counter); ok {
			return c.Packets, nil
		}
	}
	return 0, nil
}

func protoName(p uint8) string {
	switch p {
	case unix.IPPROTO_TCP:
		return "tcp"
	case unix.IPPROTO_UDP:
		return "udp"
	case unix.IPPROTO_ICMP:
		return "icmp"
	default:
		return fmt.Sprintf("proto-%d", p)
	}
}
