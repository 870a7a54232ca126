package natbox

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/ti-mo/conntrack"
	"golang.org/x/sys/unix"

	"github.com/natlab/natlab/testbed/natcfg"
)

// A live config change (Change) re-applies the NAT's config and makes the
// effects on live connections follow from the rules of the new config, as
// the managed NATs document them (docs/nat-profiles.md): a connection
// keeps its NAT ip:port only while the new config gives that port to its
// client. Before the change the agent reads conntrack and predicts, flow
// by flow; after it the kernel acts:
//   - a live TCP connection whose port its client no longer has, on a NAT
//     IP that stays, is reset: its original tuple goes into the set
//     rstflows, and its next packet from the client meets, first in the
//     forward chain, `... @rstflows reject with tcp reset` (independent of
//     tcp_loose; DESIGN.md's kernel notes: predicted == observed). Each
//     reset flow is counted once, in rst_sent. Its conntrack entry stays
//     until then, so an answer already on its way still reaches the client
//     (had it been lost, a client whose request was acknowledged would
//     wait for it with nothing to send, and time out instead of being
//     reset); once the flow is reset, the reaper deletes the entry, which
//     frees the port.
//   - a connection on a NAT IP the new config no longer has keeps its
//     entry, so the client's packets still leave from that IP, but its
//     return traffic is dropped before de-NAT (no RST: the client sees a
//     read timeout); each such flow is counted once, in gone_flows.
//   - a UDP flow that lost its port has its entry deleted: its next
//     datagram gets a new mapping.

// Names of the change's nftables objects.
const (
	setRSTFlows  = "rstflows"   // client ip . port . dst ip . port to reset
	setRSTSent   = "rst_sent"   // the same, once reset
	setGoneIPs   = "gone_ips"   // NAT IPs the new config no longer has
	setGoneFlows = "gone_flows" // NAT ip . port . peer ip . port dropped
)

// rstTimeout is how long a flow stays marked for reset: a client that
// sends nothing for this long is not reset by the change any more.
const rstTimeout = 10 * time.Minute

// dynsetOpDelete is NFT_DYNSET_OP_DELETE (linux/netfilter/nf_tables.h).
const dynsetOpDelete = 2

// changeRules is the kernel state of one change: the flows to reset and
// the NAT IPs whose return traffic is dropped.
type changeRules struct {
	rst  []conntrack.Tuple
	gone []netip.Addr
}

func tupleSet(t *nftables.Table, name string, timeout bool) *nftables.Set {
	key, _ := nftables.ConcatSetType(nftables.TypeIPAddr, nftables.TypeInetService, nftables.TypeIPAddr, nftables.TypeInetService)
	return &nftables.Set{Table: t, Name: name, KeyType: key, Concatenation: true, Dynamic: true, HasTimeout: timeout}
}

func goneIPsSet(t *nftables.Table) *nftables.Set {
	return &nftables.Set{Table: t, Name: setGoneIPs, KeyType: nftables.TypeIPAddr}
}

// tupleKey is a concatenated key of two addresses and two ports, each
// field padded to 4 bytes.
func tupleKey(a netip.Addr, ap uint16, b netip.Addr, bp uint16) []byte {
	k := make([]byte, 16)
	x, y := a.As4(), b.As4()
	copy(k[0:4], x[:])
	k[4], k[5] = byte(ap>>8), byte(ap)
	copy(k[8:12], y[:])
	k[12], k[13] = byte(bp>>8), byte(bp)
	return k
}

// loadOrig loads client ip . client port . dst ip . dst port of a packet
// from the client, before NAT, into reg32a..d.
func loadOrig() []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: reg32a, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Payload{DestRegister: reg32b, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 2},
		&expr.Payload{DestRegister: reg32c, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Payload{DestRegister: reg32d, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
	}
}

// prepend adds the change's sets to p and puts its rules before the
// profile's, so that they see a packet first.
func (c *changeRules) prepend(p *plan, t *nftables.Table, chs map[string]*nftables.Chain) *plan {
	rst := make([]nftables.SetElement, 0, len(c.rst))
	for _, tu := range c.rst {
		rst = append(rst, nftables.SetElement{Key: tupleKey(tu.IP.SourceAddress, tu.Proto.SourcePort, tu.IP.DestinationAddress, tu.Proto.DestinationPort), Timeout: rstTimeout})
	}
	gone := make([]nftables.SetElement, 0, len(c.gone))
	for _, ip := range c.gone {
		a := ip.As4()
		gone = append(gone, nftables.SetElement{Key: a[:]})
	}
	p.sets = append(p.sets,
		namedSet{set: tupleSet(t, setRSTFlows, true), elems: rst},
		namedSet{set: tupleSet(t, setRSTSent, false)},
		namedSet{set: goneIPsSet(t), elems: gone},
		namedSet{set: tupleSet(t, setGoneFlows, false)})
	var rules []*nftables.Rule
	add := func(ch string, e ...expr.Any) {
		rules = append(rules, &nftables.Rule{Table: t, Chain: chs[ch], Exprs: e})
	}
	lookup := func(set string) expr.Any { return &expr.Lookup{SourceRegister: reg32a, SetName: set} }
	// A new connection on the tuple of a reset one is none of the change's.
	add(chainFwd, append(append(tcpFlags(tcpSYN, expr.CmpOpNeq, 0), loadOrig()...), lookup(setRSTFlows),
		&expr.Dynset{SrcRegKey: reg32a, SetName: setRSTFlows, Operation: dynsetOpDelete})...)
	add(chainFwd, append(append(tcpFlags(tcpSYN, expr.CmpOpEq, 0), loadOrig()...), lookup(setRSTFlows),
		&expr.Dynset{SrcRegKey: reg32a, SetName: setRSTSent, Operation: unix.NFT_DYNSET_OP_UPDATE},
		&expr.Counter{},
		&expr.Reject{Type: unix.NFT_REJECT_TCP_RST})...)
	daddr := &expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4}
	for _, proto := range []byte{unix.IPPROTO_TCP, unix.IPPROTO_UDP} {
		add(chainPreHld, append([]expr.Any{daddr,
			&expr.Lookup{SourceRegister: reg1, SetName: setGoneIPs},
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{proto}}},
			append(loadTuple(true),
				&expr.Dynset{SrcRegKey: reg32a, SetName: setGoneFlows, Operation: unix.NFT_DYNSET_OP_UPDATE},
				&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop})...)...)
	}
	add(chainPreHld, daddr, &expr.Lookup{SourceRegister: reg1, SetName: setGoneIPs}, &expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop})
	p.rules = append(rules, p.rules...)
	return p
}

// owns reports whether cfg gives NAT ip:port to client src: its slice
// when its pool has slices (a Cloud NAT VM's block), else its pool's IPs
// and range.
func owns(cfg natcfg.Config, src, ip netip.Addr, port uint16) bool {
	for _, p := range cfg.Pools {
		if !slices.ContainsFunc(p.Sources, func(s netip.Prefix) bool { return s.Contains(src) }) {
			continue
		}
		if len(p.Slices) > 0 {
			for _, s := range p.Slices {
				if s.Source == src {
					return s.IP == ip && port >= s.Ports.First && port <= s.Ports.Last
				}
			}
			return false
		}
		return slices.Contains(p.IPs, ip) && port >= p.Ports.First && port <= p.Ports.Last
	}
	return false
}

// predict sorts the translated flows by what cfg does to them.
func predict(cfg natcfg.Config, flows []conntrack.Flow) (res natcfg.ChangeResult, reset, remap []conntrack.Flow) {
	ips := cfg.NATIPs()
	for _, f := range flows {
		o, r := f.TupleOrig, f.TupleReply
		if f.Status.Value&conntrack.StatusSrcNAT == 0 || r.IP.DestinationAddress == o.IP.SourceAddress {
			continue // not translated
		}
		tcp := o.Proto.Protocol == unix.IPPROTO_TCP
		if tcp && closedTCP(f.ProtoInfo.TCP) {
			continue // no connection left, only its held port
		}
		natIP, natPort := r.IP.DestinationAddress, r.Proto.DestinationPort
		switch {
		case !slices.Contains(ips, natIP):
			res.PredictedDropped++
		case owns(cfg, o.IP.SourceAddress, natIP, natPort):
		case tcp:
			res.PredictedResets++
			reset = append(reset, f)
		case o.Proto.Protocol == unix.IPPROTO_UDP:
			res.PredictedRemapped++
			remap = append(remap, f)
		}
	}
	return res, reset, remap
}

// Change applies cfg live and acts on the live connections as the rules
// above say, returning the prediction it made from conntrack before the
// change and how many entries it deleted.
func (b *Box) Change(cfg natcfg.Config) (natcfg.ChangeResult, error) {
	if err := cfg.Validate(); err != nil {
		return natcfg.ChangeResult{}, fmt.Errorf("change nat config: %w", err)
	}
	b.stopRunning()
	b.mu.Lock()
	defer b.mu.Unlock()
	cfg = b.withVMs(cfg)
	flows, err := b.ct.Dump(nil)
	if err != nil {
		return natcfg.ChangeResult{}, fmt.Errorf("change nat config: dump: %w", err)
	}
	res, reset, remap := predict(cfg, flows)
	ch := &changeRules{}
	for _, f := range reset {
		ch.rst = append(ch.rst, f.TupleOrig)
	}
	if b.cfg != nil {
		keep := cfg.NATIPs()
		for _, ip := range b.cfg.NATIPs() {
			if !slices.Contains(keep, ip) {
				ch.gone = append(ch.gone, ip)
			}
		}
	}
	if err := b.applyLocked(cfg, ch); err != nil {
		return res, fmt.Errorf("change nat config: %w", err)
	}
	if len(reset) > 0 {
		b.reap = startReaper(b, reset)
	}
	// The rules are in place before any entry goes.
	for _, f := range remap {
		if err := b.ct.Delete(f); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue // ended on its own meanwhile
			}
			return res, fmt.Errorf("change nat config: delete %s: %w", f.TupleOrig, err)
		}
		res.Removed++
	}
	return res, nil
}

// Observed counts what the kernel has done of the last change so far:
// the flows it reset and the flows whose return traffic it dropped.
// Without a change both are 0.
func (b *Box) Observed() (natcfg.ChangeObserved, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var o natcfg.ChangeObserved
	sets, err := b.tableSets()
	if err != nil {
		return o, fmt.Errorf("change observed: %w", err)
	}
	t := natTable()
	for _, s := range sets {
		var n *int
		switch s.Name {
		case setRSTFlows:
			n = &o.Marked
		case setRSTSent:
			n = &o.Resets
		case setGoneFlows:
			n = &o.Dropped
		default:
			continue
		}
		els, err := b.nft.GetSetElements(tupleSet(t, s.Name, s.Name == setRSTFlows))
		if err != nil {
			return o, fmt.Errorf("change observed: %s: %w", s.Name, err)
		}
		*n = len(els)
	}
	return o, nil
}

// Config returns the config applied through this Box (false: none).
func (b *Box) Config() (natcfg.Config, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cfg == nil {
		return natcfg.Config{}, false
	}
	return *b.cfg, true
}

// reapInterval is how often the reaper looks for flows reset since.
const reapInterval = 50 * time.Millisecond

// reaper deletes the conntrack entry of each flow of a change once the
// kernel has reset it (its tuple is in rst_sent), and, once a flow's mark
// expires (rstTimeout), the entry of a flow that never sent again.
type reaper struct {
	stopc, done chan struct{}
}

func startReaper(b *Box, marked []conntrack.Flow) *reaper {
	r := &reaper{stopc: make(chan struct{}), done: make(chan struct{})}
	// By original tuple (as rst_sent has it), the reply tuple: a new
	// connection may take the original tuple of a reset one, but its reply
	// tuple holds a port of the new config, never the old one, so deleting
	// by the old reply tuple cannot hit it.
	left := map[string]conntrack.Tuple{}
	for _, f := range marked {
		tu := f.TupleOrig
		left[string(tupleKey(tu.IP.SourceAddress, tu.Proto.SourcePort, tu.IP.DestinationAddress, tu.Proto.DestinationPort))] = f.TupleReply
	}
	expire := time.Now().Add(rstTimeout)
	go func() {
		defer close(r.done)
		t := time.NewTicker(reapInterval)
		defer t.Stop()
		for len(left) > 0 {
			select {
			case <-r.stopc:
				return
			case now := <-t.C:
				b.mu.Lock()
				b.reapRound(left, !now.Before(expire))
				b.mu.Unlock()
			}
		}
	}()
	return r
}

// reapRound deletes the entries of the flows of left (original tuple key
// to reply tuple) that were reset, all of them when all is set, and takes
// them out of left. b.mu is held.
func (b *Box) reapRound(left map[string]conntrack.Tuple, all bool) {
	var done []string
	if all {
		for k := range left {
			done = append(done, k)
		}
	} else {
		els, err := b.nft.GetSetElements(tupleSet(natTable(), setRSTSent, false))
		if err != nil {
			return // the next round tries again
		}
		for _, el := range els {
			if _, ok := left[string(el.Key)]; ok {
				done = append(done, string(el.Key))
			}
		}
	}
	for _, k := range done {
		// An entry that is gone already (ENOENT) needs nothing more.
		_ = b.ct.Delete(conntrack.Flow{TupleReply: left[k]})
		delete(left, k)
	}
}

func (r *reaper) stop() {
	close(r.stopc)
	<-r.done
}
