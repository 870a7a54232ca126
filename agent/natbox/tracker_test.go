package natbox

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ti-mo/conntrack"
)

// openTestTracker opens a tracker in the NAT namespace of tp.
func (tp *topo) openTracker(t *testing.T, rcvBuf int, reconcile time.Duration) *ctTracker {
	t.Helper()
	var tr *ctTracker
	must(t, inNS(tp.nat, func() (err error) {
		tr, err = openTrackerWith(rcvBuf, reconcile)
		return err
	}), "open tracker")
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// copyOf is the tracker's copy, by id, or ok false when it is not current.
func (tp *topo) copyOf(t *testing.T, tr *ctTracker) (map[ctKey]ctTuples, bool) {
	t.Helper()
	got := map[ctKey]ctTuples{}
	var ok bool
	must(t, inNS(tp.nat, func() (err error) {
		_, ok, err = tr.each(0, func(c *ctTuples) { got[c.key()] = *c })
		return err
	}), "read the tracker")
	return got, ok
}

// dumped is the table as a dump on a socket of the test's own reads it.
func (tp *topo) dumped(t *testing.T) map[ctKey]ctTuples {
	t.Helper()
	want := map[ctKey]ctTuples{}
	must(t, inNS(tp.nat, func() error {
		d, err := openTupleDumper()
		if err != nil {
			return err
		}
		defer d.Close()
		_, err = dumpTuples(d, func(c *ctTuples) { want[c.key()] = *c })
		return err
	}), "dump")
	return want
}

// deleteFlows removes n entries of the NAT namespace's table.
func (tp *topo) deleteFlows(t *testing.T, n int) {
	t.Helper()
	tp.withConntrack(t, "delete flows", func(c *conntrack.Conn) error {
		flows, err := c.Dump(nil)
		if err != nil {
			return err
		}
		for _, f := range flows[:n] {
			if err := c.Delete(f); err != nil {
				return err
			}
		}
		return nil
	})
}

// requireSameTable fails unless the copy holds exactly the dump's entries
// with the same tuples.
func requireSameTable(t *testing.T, got, want map[ctKey]ctTuples) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("the copy holds %d entries, the table %d", len(got), len(want))
	}
	for id, w := range want {
		if g, ok := got[id]; !ok || g != w {
			t.Fatalf("entry %+v: copy %+v (present %v), table %+v", id, g, ok, w)
		}
	}
}

// The copy is the table at the moment of each reading: after 20,000
// entries are made and 5,000 of them removed, a reading holds exactly
// the entries a dump finds, tuple for tuple, with no wait in between
// (a reading first applies every event the kernel has queued).
func TestTrackerCopyIsTheTable(t *testing.T) {
	tp := newTopo(t)
	tr := tp.openTracker(t, trackerRcvBuf, time.Hour)
	waitCurrent(t, tp, tr)
	tp.fillConntrack(t, 20000)
	got, ok := tp.copyOf(t, tr)
	if !ok {
		t.Fatal("the copy is not current after 20,000 events")
	}
	requireSameTable(t, got, tp.dumped(t))
	if len(got) != 20000 {
		t.Fatalf("copy holds %d entries, want 20000", len(got))
	}
	tp.deleteFlows(t, 5000)
	got, _ = tp.copyOf(t, tr)
	requireSameTable(t, got, tp.dumped(t))
	if len(got) != 15000 {
		t.Fatalf("copy holds %d entries after 5,000 deletes, want 15000", len(got))
	}
	if tr.dumpCount() != 1 {
		t.Errorf("%d dumps: no overflow happened, so only the first should have been taken", tr.dumpCount())
	}
}

// waitCurrent waits for the tracker's first dump.
func waitCurrent(t *testing.T, tp *topo, tr *ctTracker) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, ok := tp.copyOf(t, tr); ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the tracker's copy did not become current")
		}
	}
}

// Events lost to a full socket are repaired: with the reader held off
// (its lock taken) while 3,000 entries are made, the socket's small
// buffer overflows; the copy is not current until the dump the overflow
// starts, and then it is the table again.
func TestTrackerRepairsLostEvents(t *testing.T) {
	tp := newTopo(t)
	tr := tp.openTracker(t, 4096, time.Hour)
	waitCurrent(t, tp, tr)
	tr.mu.Lock()
	tp.fillConntrack(t, 3000)
	tr.mu.Unlock()
	waitCurrent(t, tp, tr)
	got, _ := tp.copyOf(t, tr)
	requireSameTable(t, got, tp.dumped(t))
	if tr.dumpCount() < 2 {
		t.Fatalf("%d dumps: the overflow should have made the tracker dump again", tr.dumpCount())
	}
	t.Logf("%d dumps", tr.dumpCount())
}

// With nf_conntrack_events 0 the kernel sends no events: the copy says
// it is not current (Metrics then dumps, and counts right). Entries made
// meanwhile never get events, so once events are on again their removal
// goes unseen until the reconcile dump replaces the copy.
func TestTrackerWithEventsOff(t *testing.T) {
	tp := newTopo(t)
	tr := tp.openTracker(t, trackerRcvBuf, 2*time.Second)
	waitCurrent(t, tp, tr)
	var was string
	must(t, inNS(tp.nat, func() (err error) {
		was, err = SetSysctl("net.netfilter.nf_conntrack_events", "0")
		return err
	}), "events off")
	if _, ok := tp.copyOf(t, tr); ok {
		t.Fatal("the copy says it is current while events are off")
	}
	tp.fillConntrack(t, 1000)
	if got := tp.metrics(t).ConntrackEntries; got != 1000 {
		t.Fatalf("with events off Metrics counted %d entries, want 1000", got)
	}
	must(t, inNS(tp.nat, func() error {
		_, err := SetSysctl("net.netfilter.nf_conntrack_events", was)
		return err
	}), "events on")
	tp.copyOf(t, tr) // sees events on: the reader dumps
	waitCurrent(t, tp, tr)
	if got, _ := tp.copyOf(t, tr); len(got) != 1000 {
		t.Fatalf("after events came back the copy holds %d entries, want 1000", len(got))
	}
	tp.deleteFlows(t, 1000)
	took := tp.waitCopyEmpty(t, tr, 10*time.Second, "the reconcile did not drop the entries made with events off")
	t.Logf("entries made with events off left the copy %s after their removal", took)
}

// waitCopyEmpty waits, for at most within, until the copy is current and
// empty, and says how long that took; what says what failed otherwise.
func (tp *topo) waitCopyEmpty(t *testing.T, tr *ctTracker, within time.Duration, what string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got, ok := tp.copyOf(t, tr)
		if ok && len(got) == 0 {
			return time.Since(start).Round(10 * time.Millisecond)
		}
		if time.Since(start) > within {
			t.Fatalf("%s: after %s the copy holds %d entries", what, within, len(got))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (t *ctTracker) dumpCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dumps
}

// An entry whose timeout ran out stays in the copy until the kernel's
// garbage collector says it is gone; the reconcile dump (which skips and
// evicts expired entries) takes it out within its period at the latest.
func TestTrackerDropsExpiredEntriesByTheReconcile(t *testing.T) {
	tp := newTopo(t)
	tr := tp.openTracker(t, trackerRcvBuf, 2*time.Second)
	waitCurrent(t, tp, tr)
	tp.withConntrack(t, "make entries that expire in 1 s", func(c *conntrack.Conn) error {
		for i := range 500 {
			f := conntrack.NewFlow(6, conntrack.StatusConfirmed, netip.AddrFrom4([4]byte{198, 18, 200, 2}), backendIP, uint16(20000+i), 8080, 1, 0)
			f.ProtoInfo.TCP = &conntrack.ProtoInfoTCP{State: 3}
			if err := c.Create(f); err != nil {
				return err
			}
		}
		return nil
	})
	if got, _ := tp.copyOf(t, tr); len(got) != 500 {
		t.Fatalf("copy holds %d entries, want the 500 just made", len(got))
	}
	took := tp.waitCopyEmpty(t, tr, 6*time.Second, "the expired entries stayed in the copy")
	t.Logf("the expired entries left the copy %s after they were made", took)
}
