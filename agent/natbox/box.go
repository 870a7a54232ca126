package natbox

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"github.com/google/nftables"
	"github.com/ti-mo/conntrack"
	"golang.org/x/sys/unix"

	"github.com/natlab/natlab/testbed/natcfg"
)

// Box is the NAT box in the network namespace of the thread that opened it.
// Its netlink sockets stay bound to that namespace; GetSysctl, SetSysctl and
// Metrics' ip_forward read use the calling thread's namespace.
type Box struct {
	mu  sync.Mutex
	nft *nftables.Conn
	ct  *conntrack.Conn
	// dump is the socket of the light dump (tuples.go), which a reading
	// takes when track's copy is not current.
	dump *tupleDumper
	// track keeps the table's tuples from conntrack events (tracker.go).
	track *ctTracker
	cfg   *natcfg.Config
	// carried is what the drop rules counted before a re-apply replaced
	// them (and their counters), so PolicyDrops never goes backwards.
	carried uint64
	// run is the live part of the profile in force (nil: none).
	run running
	// pins keeps the kernel from evicting held ports (pin.go).
	pins *pinner
	// reap deletes the entries of the flows the last change reset
	// (change.go); nil when none.
	reap *reaper
	// raw is the socket of aws-nat-gateway's idle-timeout probes (-1:
	// none, rawErr says why).
	raw    int
	rawErr error
	// awsIdle counts the connections aws-nat-gateway timed out idle; it
	// lives here so that a re-apply keeps the count.
	awsIdle uint64
	// started and stopped are the gcp-cloud-nat VMs started (in order)
	// and stopped while the NAT ran (vms.go); every config applied keeps
	// them so.
	started []netip.Addr
	stopped map[netip.Addr]bool
}

// Open connects to nftables and conntrack in the current network namespace.
func Open() (*Box, error) {
	nft, err := nftables.New(nftables.AsLasting())
	if err != nil {
		return nil, fmt.Errorf("open nftables: %w", err)
	}
	ct, err := conntrack.Dial(nil)
	if err != nil {
		_ = nft.CloseLasting()
		return nil, fmt.Errorf("open conntrack: %w", err)
	}
	dump, err := openTupleDumper()
	if err != nil {
		_ = nft.CloseLasting()
		_ = ct.Close()
		return nil, err
	}
	pins, err := openPinner()
	if err != nil {
		_ = nft.CloseLasting()
		_ = ct.Close()
		_ = dump.Close()
		return nil, err
	}
	track, err := openTracker()
	if err != nil {
		_ = nft.CloseLasting()
		_ = ct.Close()
		_ = dump.Close()
		_ = pins.close()
		return nil, err
	}
	// Only aws-nat-gateway needs the raw socket; without it the others
	// still work and that profile reports why it cannot reset.
	raw, rawErr := openRaw()
	return &Box{nft: nft, ct: ct, dump: dump, track: track, pins: pins, raw: raw, rawErr: rawErr}, nil
}

// Close releases the netlink sockets; the rules stay in place.
func (b *Box) Close() error {
	b.stopRunning()
	b.mu.Lock()
	defer b.mu.Unlock()
	var rawErr error
	if b.raw >= 0 {
		rawErr = unix.Close(b.raw)
		b.raw = -1
	}
	return errors.Join(b.nft.CloseLasting(), b.ct.Close(), b.dump.Close(), b.track.Close(), b.pins.close(), rawErr)
}

// Apply installs cfg in one atomic nftables batch. Applying over a previous
// config replaces every rule but keeps the chains and the held set with its
// elements, so live changes (shrink or grow a range, add or remove a NAT IP,
// split pools, switch port selection) leave established flows and held
// ports alone. Conntrack entries are never touched. The profile's control
// loop, if any, restarts with the new config (Cloud NAT's dynamic port
// allocation starts again from the minimum, as it does on a config change).
func (b *Box) Apply(cfg natcfg.Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("apply nat config: %w", err)
	}
	b.stopRunning()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.applyLocked(b.withVMs(cfg), nil)
}

// applyLocked installs cfg, with the rules of a live change when ch is
// not nil (change.go); b.mu is held and the profile's loop is stopped.
func (b *Box) applyLocked(cfg natcfg.Config, ch *changeRules) error {
	t := natTable()
	chs := chains(t)
	byName := map[string]*nftables.Chain{}
	for _, ch := range chs {
		byName[ch.Name] = ch
	}
	prof := profileOf(cfg.Profile)
	p := prof.build(cfg, t, byName)
	if ch != nil {
		p = ch.prepend(p, t, byName)
	}
	dropped, err := b.policyDrops()
	if err != nil {
		return fmt.Errorf("apply nat config: %w", err)
	}
	old, err := b.tableChains()
	if err != nil {
		return fmt.Errorf("apply nat config: %w", err)
	}
	oldObjs, err := b.tableObjects()
	if err != nil {
		return fmt.Errorf("apply nat config: %w", err)
	}
	oldSets, err := b.tableSets()
	if err != nil {
		return fmt.Errorf("apply nat config: %w", err)
	}
	b.nft.AddTable(t)
	b.nft.FlushTable(t)
	// Sets go before chains: a verdict map's elements hold its chains.
	keepSet := map[string]bool{setHeld: true}
	for _, s := range p.sets {
		keepSet[s.set.Name] = s.keep
	}
	haveSet := map[string]bool{}
	for _, s := range oldSets {
		if keepSet[s.Name] {
			haveSet[s.Name] = true
		} else {
			b.nft.DelSet(s)
		}
	}
	keep := map[string]bool{}
	for _, ch := range append(chs, p.chains...) {
		keep[ch.Name] = true
	}
	for _, ch := range old {
		if !keep[ch.Name] {
			b.nft.DelChain(ch)
		}
	}
	// An object is replaced only when its name changes: deleting a ct
	// timeout policy resets the timeouts of the entries that use it, and
	// a counter would lose its count. Names say what the object holds.
	want := map[string]bool{}
	for _, o := range p.objects {
		want[o.Name] = true
	}
	have := map[string]bool{}
	for _, o := range oldObjs {
		if want[o.Name] {
			have[o.Name] = true
		} else {
			b.nft.DeleteObject(o)
		}
	}
	for _, o := range p.objects {
		if !have[o.Name] {
			b.nft.AddObj(o)
		}
	}
	if err := b.nft.AddSet(heldSet(t), nil); err != nil {
		return fmt.Errorf("apply nat config: held set: %w", err)
	}
	for _, ch := range chs {
		b.nft.AddChain(ch)
	}
	for _, ch := range p.chains {
		b.nft.AddChain(ch)
	}
	for _, s := range p.sets {
		if s.keep && haveSet[s.set.Name] {
			continue
		}
		if err := b.nft.AddSet(s.set, s.elems); err != nil {
			return fmt.Errorf("apply nat config: set %s: %w", s.set.Name, err)
		}
	}
	for _, s := range p.anonSets {
		if err := b.nft.AddSet(s.set, s.elems); err != nil {
			return fmt.Errorf("apply nat config: ip map: %w", err)
		}
	}
	for _, r := range p.rules {
		b.nft.AddRule(r)
	}
	if err := b.nft.Flush(); err != nil {
		return fmt.Errorf("apply nat config: %w", err)
	}
	c := cfg
	b.cfg = &c
	b.carried += dropped
	// The profile says what to pin, if anything (a profile before it may
	// have pinned other flows).
	b.pins.pin(nil)
	b.run = prof.start(b, c)
	return nil
}

// stopRunning ends the control loop of the profile in force, if any. It
// must be called without b.mu: the loop takes it on every round.
func (b *Box) stopRunning() {
	b.mu.Lock()
	r, rp := b.run, b.reap
	b.run, b.reap = nil, nil
	b.mu.Unlock()
	if r != nil {
		r.stop()
	}
	if rp != nil {
		rp.stop()
	}
}

// Remove deletes the natlab table with its rules and held set. Removing an
// absent table is not an error.
func (b *Box) Remove() error {
	b.stopRunning()
	b.mu.Lock()
	defer b.mu.Unlock()
	ok, err := b.tableExists()
	if err != nil {
		return fmt.Errorf("remove nat config: %w", err)
	}
	if ok {
		b.nft.DelTable(natTable())
		if err := b.nft.Flush(); err != nil {
			return fmt.Errorf("remove nat config: %w", err)
		}
	}
	b.pins.pin(nil)
	b.cfg = nil
	return nil
}

func (b *Box) tableExists() (bool, error) {
	tables, err := b.nft.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return false, fmt.Errorf("list tables: %w", err)
	}
	for _, t := range tables {
		if t.Name == tableName {
			return true, nil
		}
	}
	return false, nil
}

func (b *Box) tableObjects() ([]*nftables.NamedObj, error) {
	ok, err := b.tableExists()
	if err != nil || !ok {
		return nil, err
	}
	objs, err := b.nft.GetNamedObjects(natTable())
	if err != nil {
		return nil, fmt.Errorf("list objects: %w", err)
	}
	out := make([]*nftables.NamedObj, 0, len(objs))
	for _, o := range objs {
		if n, ok := o.(*nftables.NamedObj); ok {
			out = append(out, n)
		}
	}
	return out, nil
}

func (b *Box) tableSets() ([]*nftables.Set, error) {
	ok, err := b.tableExists()
	if err != nil || !ok {
		return nil, err
	}
	sets, err := b.nft.GetSets(natTable())
	if err != nil {
		return nil, fmt.Errorf("list sets: %w", err)
	}
	var out []*nftables.Set
	for _, s := range sets {
		if !s.Anonymous && !strings.HasPrefix(s.Name, "__") {
			out = append(out, s)
		}
	}
	return out, nil
}

func (b *Box) tableChains() ([]*nftables.Chain, error) {
	all, err := b.nft.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return nil, fmt.Errorf("list chains: %w", err)
	}
	var out []*nftables.Chain
	for _, ch := range all {
		if ch.Table != nil && ch.Table.Name == tableName {
			out = append(out, ch)
		}
	}
	return out, nil
}
