package natbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ti-mo/netfilter"
	"golang.org/x/sys/unix"
)

// The per-tick reading of the conntrack table without a dump per tick.
// Even the light dump (tuples.go) costs about 0.25 s of CPU at 100,000
// entries, and on a box whose two CPUs carry the load it measures one
// reading took 1-2 s: the sampler's ticks came late. ctTracker instead
// keeps the tuples of every entry from ctnetlink's NEW and DESTROY
// events, which the kernel sends as each entry is confirmed and removed,
// and a reading walks that copy in memory (a few milliseconds).
//
// The copy has one gap a dump does not: an entry whose timeout ran out
// stays in the table, and in the copy, until the kernel's garbage
// collector removes it and says so, and the collector runs as seldom as
// once a minute when most entries are long-lived; a dump skips such an
// entry (and evicts it), and so does the NAT's port search. So the copy
// serves readings only from trackerLeast entries on, where a dump is too
// slow for a tick; the reconcile dump every trackerReconcile evicts the
// expired entries it meets, which bounds how long the copy counts one.
// (Reading the timeouts from update events would not close the gap: a
// packet refreshes an entry's timeout without an event.)
//
// The copy starts from one dump taken after the event socket was
// subscribed, and the events queued during the dump are applied after
// it, so an entry created or removed while the dump ran ends as the
// kernel has it. When the socket overflows (ENOBUFS: events were lost),
// the tracker takes a dump again the same way. Events are off when the
// namespace's net.netfilter.nf_conntrack_events is 0; the tracker then
// says it is not current and Metrics dumps the table instead.

// Multicast groups of ctnetlink (NFNLGRP_CONNTRACK_NEW, _DESTROY) and its
// message types (IPCTNL_MSG_CT_NEW, _DELETE).
const (
	nfnlgrpConntrackNew     = 1
	nfnlgrpConntrackDestroy = 3
	ctnlMsgNew              = 0
	ctnlMsgDelete           = 2
	ctaID                   = 12
)

// trackerRcvBuf is the event socket's receive buffer: at 8,000 new flows
// a second (the full-scale ramp) about 4 s of events, room for the dump
// that a start or an overflow takes while events queue.
const trackerRcvBuf = 32 << 20

// trackerPoll bounds the reader's wait for events, so that Close stops it.
const trackerPoll = 200 * time.Millisecond

// trackerLeast is the table size from which the copy serves readings;
// below it a reading dumps the table (about 50 ms of CPU at this size).
const trackerLeast = 20000

// trackerReconcile is how often the copy is replaced by a dump anyway.
// With nf_conntrack_events at its default 2 the kernel gives an entry its
// events only if a listener existed when the entry was made: entries made
// while no agent listened (before it started, or while a killed NAT agent
// was restarted) are never reported destroyed. The reconcile removes them
// within this period, at about 0.25 s of CPU per 100,000 entries.
const trackerReconcile = 10 * time.Second

// ctTracker is an event-fed copy of the conntrack table's tuples.
type ctTracker struct {
	fd        int
	dump      *tupleDumper
	reconcile time.Duration

	// mu guards the copy and the socket's reads: events are read and
	// applied under it, in the order the kernel queued them.
	mu      sync.Mutex
	buf     []byte
	entries map[ctKey]ctTuples
	// synced: entries is a whole copy (false before the first dump, and
	// after an overflow until the dump that repairs it).
	synced bool
	// eventsOff: the last reading found nf_conntrack_events 0, so no copy
	// would stay current and none is dumped.
	eventsOff bool
	// dumping: a dump is under way; the events read meanwhile are kept
	// in log too, to be applied to the dump's copy when it is done.
	// spoiled: events were lost during it, so its copy is thrown away.
	dumping, spoiled bool
	log              []ctEvent
	dumped           time.Time
	dumps            int
	err              error

	stop chan struct{}
	done sync.WaitGroup
}

// ctKey tells the entries of the copy apart. CTA_ID alone does not: it
// is a 32-bit hash, and 100,000 entries hold a pair of equal ids about
// once per table (two to three entries went missing from the copy at
// 100,000 when it was the key). An entry's original tuple is unique in
// the table; with the id beside it, an entry removed and made again
// with the same tuple is another key, and entries whose addresses the
// copy does not read (IPv6) are told apart by their ids.
type ctKey struct {
	id               uint32
	proto            uint8
	origSrc, origDst [4]byte
	origSport        uint16
	origDport        uint16
}

func (c *ctTuples) key() ctKey {
	return ctKey{id: c.id, proto: c.proto, origSrc: c.origSrc, origDst: c.origDst, origSport: c.origSport, origDport: c.origDport}
}

// ctEvent is one event: the entry's tuples, and whether it was removed.
type ctEvent struct {
	c       ctTuples
	removed bool
}

// openTracker subscribes to the conntrack events of the current network
// namespace and starts keeping the copy.
func openTracker() (*ctTracker, error) { return openTrackerWith(trackerRcvBuf, trackerReconcile) }

// openTrackerWith is openTracker with the socket's receive buffer and the
// reconcile period given (tests make both small).
func openTrackerWith(rcvBuf int, reconcile time.Duration) (*ctTracker, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
	if err != nil {
		return nil, fmt.Errorf("open conntrack event socket: %w", err)
	}
	fail := func(what string, err error) (*ctTracker, error) {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("conntrack event socket: %s: %w", what, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvBuf); err != nil {
		// Without CAP_NET_ADMIN the limit is net.core.rmem_max.
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvBuf); err != nil {
			return fail("receive buffer", err)
		}
	}
	groups := uint32(1<<(nfnlgrpConntrackNew-1) | 1<<(nfnlgrpConntrackDestroy-1))
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: groups}); err != nil {
		return fail("bind", err)
	}
	dump, err := openTupleDumper()
	if err != nil {
		_ = unix.Close(fd)
		return nil, err
	}
	t := &ctTracker{fd: fd, dump: dump, reconcile: reconcile, buf: make([]byte, 64<<10), stop: make(chan struct{})}
	t.done.Add(1)
	go t.run()
	return t, nil
}

// Close stops the reader and any dump, and closes both sockets.
func (t *ctTracker) Close() error {
	close(t.stop)
	t.done.Wait()
	return errors.Join(unix.Close(t.fd), t.dump.Close())
}

// run reads the events until Close, and starts a dump whenever the copy
// is not current (at the start, after an overflow, when events are on
// again) or is trackerReconcile old.
func (t *ctTracker) run() {
	defer t.done.Done()
	for {
		select {
		case <-t.stop:
			return
		default:
		}
		t.mu.Lock()
		if !t.dumping && !t.eventsOff && t.err == nil && (!t.synced || time.Since(t.dumped) >= t.reconcile) {
			t.dumping, t.spoiled, t.log = true, false, nil
			t.done.Add(1)
			go t.resync()
		}
		t.mu.Unlock()
		fds := []unix.PollFd{{Fd: int32(t.fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, int(trackerPoll.Milliseconds())); err != nil && !errors.Is(err, unix.EINTR) {
			t.fail(fmt.Errorf("conntrack events: poll: %w", err))
			return
		}
		t.mu.Lock()
		err := t.drainLocked()
		t.mu.Unlock()
		if err != nil {
			t.fail(err)
			return
		}
	}
}

// drainLocked reads and applies every event the socket holds, without
// waiting for more. Lost events (ENOBUFS) leave the copy not current and
// spoil a dump under way. Called with mu held.
func (t *ctTracker) drainLocked() error {
	for {
		n, _, err := unix.Recvfrom(t.fd, t.buf, unix.MSG_DONTWAIT)
		switch {
		case err == nil:
			t.applyLocked(t.buf[:n])
		case errors.Is(err, unix.EAGAIN):
			return nil
		case errors.Is(err, unix.EINTR):
		case errors.Is(err, unix.ENOBUFS):
			t.synced, t.spoiled = false, t.dumping
		default:
			return fmt.Errorf("conntrack events: %w", err)
		}
	}
}

func (t *ctTracker) fail(err error) {
	t.mu.Lock()
	t.err, t.synced = err, false
	t.mu.Unlock()
}

// resync dumps the table into a new copy while the reader goes on, then
// applies to it the events read during the dump and puts it in place. An
// entry made or removed while the dump ran thus ends as the kernel has
// it: its last event is applied after whatever state the dump saw.
func (t *ctTracker) resync() {
	defer t.done.Done()
	fresh := make(map[ctKey]ctTuples)
	_, err := dumpTuples(t.dump, func(c *ctTuples) { fresh[c.key()] = *c })
	t.mu.Lock()
	defer t.mu.Unlock()
	t.dumping = false
	switch {
	case err != nil:
		t.err, t.synced = fmt.Errorf("conntrack tracker: dump: %w", err), false
	case t.spoiled:
		// Events were lost during the dump: the reader starts another.
	default:
		for _, e := range t.log {
			if e.removed {
				delete(fresh, e.c.key())
			} else {
				fresh[e.c.key()] = e.c
			}
		}
		t.entries, t.synced, t.dumped = fresh, true, time.Now()
		t.dumps++
	}
	t.log = nil
}

// applyLocked applies the events in one datagram to the copy. Called
// with mu held.
func (t *ctTracker) applyLocked(b []byte) {
	eachMessage(b, func(typ uint16, m []byte) {
		if typ>>8 != uint16(netfilter.NFSubsysCTNetlink) || len(m) < nfgenmsgLength {
			return
		}
		var e ctEvent
		switch typ & 0xff {
		case ctnlMsgNew:
		case ctnlMsgDelete:
			e.removed = true
		default:
			return
		}
		decodeEntry(m[nfgenmsgLength:], &e.c)
		if t.dumping {
			t.log = append(t.log, e)
		}
		if t.entries == nil {
			return
		}
		if e.removed {
			delete(t.entries, e.c.key())
		} else {
			t.entries[e.c.key()] = e.c
		}
	})
}

// each calls fn with every entry of the copy and returns how many there
// are, or ok false when the copy holds fewer than least entries or is not
// current: events are off (the namespace's nf_conntrack_events is 0), or
// were lost or just turned on again and no dump has repaired the copy
// yet; Metrics then dumps the table itself. An error is the one that
// stopped the tracker.
func (t *ctTracker) each(least int, fn func(c *ctTuples)) (n int, ok bool, err error) {
	on, err := GetSysctl("net.netfilter.nf_conntrack_events")
	if err != nil {
		return 0, false, fmt.Errorf("conntrack tracker: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return 0, false, t.err
	}
	// Every entry the kernel has confirmed by now has its event queued
	// (events are sent as entries are confirmed): after the drain the copy
	// holds at least the entries that existed when the reading began.
	if err := t.drainLocked(); err != nil {
		t.err, t.synced = err, false
		return 0, false, err
	}
	if t.eventsOff = on == "0"; t.eventsOff {
		t.synced = false
	}
	if !t.synced || len(t.entries) < least {
		return 0, false, nil
	}
	for _, c := range t.entries {
		fn(&c)
	}
	return len(t.entries), true, nil
}

// eachMessage calls fn with the type and payload of every netlink message
// in b.
func eachMessage(b []byte, fn func(typ uint16, m []byte)) {
	for len(b) >= unix.NLMSG_HDRLEN {
		l := int(binary.NativeEndian.Uint32(b[0:4]))
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			return
		}
		fn(binary.NativeEndian.Uint16(b[4:6]), b[unix.NLMSG_HDRLEN:l])
		b = b[min(len(b), (l+unix.NLMSG_ALIGNTO-1)&^(unix.NLMSG_ALIGNTO-1)):]
	}
}
