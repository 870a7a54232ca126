package natbox

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/google/nftables"
	"github.com/ti-mo/conntrack"
	"golang.org/x/sys/unix"

	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/testbed/natcfg"
)

// VMs that start and stop while the gateway runs (the vm-start and
// vm-stop faults): Cloud NAT gives a VM its ports when the VM starts,
// from whatever its NAT IPs have left after the VMs of every subnet the
// gateway serves. A VM that finds no free block waits (natcfg.GCPConfig
// Waiting: nat_allocation_failed, its new flows dropped as
// OUT_OF_RESOURCES) and takes the first block that frees up, in the
// order the VMs started. A stopped VM's block is free at once and its
// conntrack entries go with it. The Box remembers the VMs started and
// stopped so that a later config change (nat-config) keeps them so.

// VMs stops the VMs of ch.Stop and starts those of ch.Start, in that
// order, and says which got a block and which wait.
func (b *Box) VMs(ch natcfg.VMChange) (natcfg.VMResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.run.(*gcpRun)
	if !ok || b.cfg == nil {
		profile := natcfg.ProfileLinux
		if b.cfg != nil && b.cfg.Profile != "" {
			profile = b.cfg.Profile
		}
		return natcfg.VMResult{}, fmt.Errorf("start or stop VMs: the NAT runs profile %s; VMs get their ports at start on %s only", profile, natcfg.ProfileGCPCloudNAT)
	}
	if b.stopped == nil {
		b.stopped = map[netip.Addr]bool{}
	}
	var res natcfg.VMResult
	for _, vm := range ch.Stop {
		n, err := r.stopVM(vm)
		res.Removed += n
		if err != nil {
			return res, fmt.Errorf("stop VM %s: %w", vm, err)
		}
		b.stopped[vm] = true
		b.started = slices.DeleteFunc(b.started, func(a netip.Addr) bool { return a == vm })
	}
	for _, vm := range ch.Start {
		if err := r.startVM(vm); err != nil {
			return res, fmt.Errorf("start VM %s: %w", vm, err)
		}
		delete(b.stopped, vm)
		if !slices.Contains(b.started, vm) {
			b.started = append(b.started, vm)
		}
	}
	if err := r.placeWaiting(); err != nil {
		return res, err
	}
	for _, vm := range ch.Start {
		if slices.Contains(r.waiting, vm) {
			res.Waiting = append(res.Waiting, vm)
		} else {
			res.Allocated = append(res.Allocated, vm)
		}
	}
	return res, nil
}

// withVMs is cfg with the VMs started and stopped since the testbed was
// built: a stopped VM has no block, a started one keeps the block it has
// where cfg leaves it free, else takes the first free block or waits, and
// a waiting VM takes a block cfg has room for. b.mu is held.
func (b *Box) withVMs(cfg natcfg.Config) natcfg.Config {
	if cfg.Profile != natcfg.ProfileGCPCloudNAT || cfg.GCP == nil || len(cfg.Pools) != 1 || (len(b.started) == 0 && len(b.stopped) == 0) {
		return cfg
	}
	c := cfg
	g := *cfg.GCP
	c.GCP = &g
	c.Pools = slices.Clone(cfg.Pools)
	pool := &c.Pools[0]
	has := map[netip.Addr]bool{}
	var kept []natcfg.Slice
	for _, s := range pool.Slices {
		if !b.stopped[s.Source] {
			kept = append(kept, s)
			has[s.Source] = true
		}
	}
	var waiting []netip.Addr
	for _, vm := range g.Waiting {
		if !b.stopped[vm] && !has[vm] {
			waiting = append(waiting, vm)
			has[vm] = true
		}
	}
	cur := map[netip.Addr]natcfg.Slice{}
	if b.cfg != nil && len(b.cfg.Pools) == 1 {
		for _, s := range b.cfg.Pools[0].Slices {
			cur[s.Source] = s
		}
	}
	for _, vm := range b.started {
		if has[vm] {
			continue
		}
		has[vm] = true
		if s, ok := cur[vm]; ok && slices.Contains(pool.IPs, s.IP) {
			off := (int(s.Ports.First) - int(pool.Ports.First)) / g.MinPorts * g.MinPorts
			first := int(pool.Ports.First) + off
			blk := natcfg.Slice{Source: vm, IP: s.IP, Ports: portrange.Range{First: uint16(first), Last: uint16(first + g.MinPorts - 1)}}
			if first+g.MinPorts-1 <= int(pool.Ports.Last) && !overlapsAny(kept, blk) {
				kept = append(kept, blk)
				continue
			}
		}
		if s, ok := natcfg.GCPFree(kept, vm, pool.IPs, pool.Ports, g.MinPorts); ok {
			kept = append(kept, s)
			continue
		}
		waiting = append(waiting, vm)
	}
	// More room may let waiting VMs in, first come first served.
	for len(waiting) > 0 {
		s, ok := natcfg.GCPFree(kept, waiting[0], pool.IPs, pool.Ports, g.MinPorts)
		if !ok {
			break
		}
		kept = append(kept, s)
		waiting = waiting[1:]
	}
	pool.Slices, g.Waiting = kept, waiting
	return c
}

func overlapsAny(taken []natcfg.Slice, s natcfg.Slice) bool {
	for _, t := range taken {
		if t.IP == s.IP && t.Ports.Overlaps(s.Ports) {
			return true
		}
	}
	return false
}

// taken are the VMs' blocks as they are now (dynamic port allocation may
// have grown them).
func (r *gcpRun) taken() []natcfg.Slice {
	out := make([]natcfg.Slice, 0, len(r.vms))
	for _, vm := range r.vms {
		out = append(out, natcfg.Slice{Source: vm.addr, IP: vm.ip, Ports: vm.block})
	}
	return out
}

// startVM gives vm the first free block, or puts it in the waiting set.
// A VM that has a block or waits already is left as it is.
func (r *gcpRun) startVM(vm netip.Addr) error {
	if !vm.Is4() {
		return fmt.Errorf("%s: want an IPv4 address", vm)
	}
	if r.byVM[vm] != nil || slices.Contains(r.waiting, vm) {
		return nil
	}
	if s, ok := natcfg.GCPFree(r.taken(), vm, r.cfg.Pools[0].IPs, r.pool, r.g.MinPorts); ok {
		return r.allocate(s)
	}
	if err := r.b.nft.SetAddElements(waitingSet(natTable()), addrElems([]netip.Addr{vm})); err != nil {
		return fmt.Errorf("waiting set: %w", err)
	}
	if err := r.b.nft.Flush(); err != nil {
		return fmt.Errorf("waiting set: %w", err)
	}
	r.waiting = append(r.waiting, vm)
	r.syncConfig()
	return nil
}

// allocate installs the block s of its VM (taking it out of the waiting
// set if it was there).
func (r *gcpRun) allocate(s natcfg.Slice) error {
	t := natTable()
	k := s.Source.As4()
	if slices.Contains(r.waiting, s.Source) {
		if err := r.b.nft.SetDeleteElements(waitingSet(t), []nftables.SetElement{{Key: k[:]}}); err != nil {
			return fmt.Errorf("waiting set: %w", err)
		}
	}
	if err := r.b.nft.SetAddElements(vmPortsSet(t), []nftables.SetElement{vmPortsElem(s.Source, s.IP, s.Ports)}); err != nil {
		return fmt.Errorf("vm ports: %w", err)
	}
	if err := r.b.nft.SetAddElements(vmSizeSet(t), []nftables.SetElement{vmSizeElem(s.Source, s.Ports.Size())}); err != nil {
		return fmt.Errorf("vm size: %w", err)
	}
	if err := r.b.nft.Flush(); err != nil {
		return fmt.Errorf("allocate %s to %s: %w", s.Ports, s.Source, err)
	}
	r.waiting = slices.DeleteFunc(r.waiting, func(a netip.Addr) bool { return a == s.Source })
	vm := &gcpVM{addr: s.Source, ip: s.IP, block: s.Ports}
	r.vms = append(r.vms, vm)
	r.byVM[s.Source] = vm
	r.repin()
	r.syncConfig()
	return nil
}

// stopVM takes vm's block back (or takes it off the waiting list) and
// deletes its conntrack entries, returning how many.
func (r *gcpRun) stopVM(vm netip.Addr) (int, error) {
	t := natTable()
	k := vm.As4()
	if slices.Contains(r.waiting, vm) {
		if err := r.b.nft.SetDeleteElements(waitingSet(t), []nftables.SetElement{{Key: k[:]}}); err != nil {
			return 0, fmt.Errorf("waiting set: %w", err)
		}
		if err := r.b.nft.Flush(); err != nil {
			return 0, fmt.Errorf("waiting set: %w", err)
		}
		r.waiting = slices.DeleteFunc(r.waiting, func(a netip.Addr) bool { return a == vm })
		r.syncConfig()
		return 0, nil
	}
	if r.byVM[vm] == nil {
		return 0, nil // not running
	}
	if err := r.b.nft.SetDeleteElements(vmPortsSet(t), []nftables.SetElement{{Key: k[:]}}); err != nil {
		return 0, fmt.Errorf("vm ports: %w", err)
	}
	if err := r.b.nft.SetDeleteElements(vmSizeSet(t), []nftables.SetElement{{Key: k[:]}}); err != nil {
		return 0, fmt.Errorf("vm size: %w", err)
	}
	if err := r.b.nft.Flush(); err != nil {
		return 0, fmt.Errorf("release the block: %w", err)
	}
	delete(r.byVM, vm)
	r.vms = slices.DeleteFunc(r.vms, func(v *gcpVM) bool { return v.addr == vm })
	r.repin()
	r.syncConfig()
	// The VM is gone, and so are its connections.
	flows, err := r.b.ct.Dump(nil)
	if err != nil {
		return 0, fmt.Errorf("conntrack dump: %w", err)
	}
	n := 0
	for _, f := range flows {
		if f.TupleOrig.IP.SourceAddress != vm {
			continue
		}
		if err := r.b.ct.Delete(conntrack.Flow{TupleOrig: f.TupleOrig}); err != nil && !errors.Is(err, unix.ENOENT) {
			return n, fmt.Errorf("delete %s: %w", f.TupleOrig, err)
		}
		n++
	}
	return n, nil
}

// placeWaiting gives the waiting VMs the blocks that are free, in the
// order they started; the first that finds none keeps the rest waiting.
func (r *gcpRun) placeWaiting() error {
	for len(r.waiting) > 0 {
		s, ok := natcfg.GCPFree(r.taken(), r.waiting[0], r.cfg.Pools[0].IPs, r.pool, r.g.MinPorts)
		if !ok {
			return nil
		}
		if err := r.allocate(s); err != nil {
			return err
		}
	}
	return nil
}

// repin pins the closed flows of the VMs running now.
func (r *gcpRun) repin() {
	sources := make(map[netip.Addr]bool, len(r.vms))
	for _, vm := range r.vms {
		sources[vm.addr] = true
	}
	r.pin = &pinRule{sources: sources, hold: r.pin.hold}
	r.b.pins.pin(r.pin)
}

// syncConfig makes the Box's config say which VMs have a block (its first
// minimum-size part, as a config gives it) and which wait.
func (r *gcpRun) syncConfig() {
	if r.b.cfg == nil || len(r.b.cfg.Pools) != 1 || r.b.cfg.GCP == nil {
		return
	}
	c := *r.b.cfg
	g := *c.GCP
	c.GCP = &g
	c.Pools = slices.Clone(c.Pools)
	sl := make([]natcfg.Slice, 0, len(r.vms))
	for _, vm := range r.vms {
		sl = append(sl, natcfg.Slice{Source: vm.addr, IP: vm.ip,
			Ports: portrange.Range{First: vm.block.First, Last: vm.block.First + uint16(g.MinPorts) - 1}})
	}
	c.Pools[0].Slices = sl
	g.Waiting = slices.Clone(r.waiting)
	r.b.cfg = &c
}
