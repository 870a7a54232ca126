package natbox

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ti-mo/conntrack"
	"github.com/ti-mo/netfilter"
	"golang.org/x/sys/unix"
)

// Pinning closed flows. Since Linux 6.5, when a new SYN finds no free NAT
// port in the first half of its port search, the kernel evicts a
// colliding TIME_WAIT (or CLOSE) entry and reuses its port. A managed NAT
// never reuses a port it holds, and natlab drops a SYN that lands on a
// held tuple, so with the eviction a VM whose block is more than half full
// of held ports sees connects fail although it has free ports (seen: 1 to
// 6 of 64 sequential connects). The kernel leaves alone an entry with
// IPS_FIXED_TIMEOUT; so the closed entries of a profile's flows are given
// that status, with the hold as their timeout, as soon as conntrack says
// they closed: the flows of a Cloud NAT's VMs, and every translated flow
// of the linux profile in managed mode (without it, incident 001's fix
// variants saw 2 to 13 SYNs dropped in 2,650 at 65-73% of the ports held). Packets are still forwarded by the kernel alone: this only
// tells conntrack not to give a held port away.

// pinRule says whose closed flows to pin and for how long.
type pinRule struct {
	// sources are the client addresses whose flows are pinned; nil pins
	// every translated flow.
	sources map[netip.Addr]bool
	// hold is the pinned entries' timeout in seconds; 0 keeps the one
	// the kernel gave the closed state (a ct timeout policy's), so a
	// pin that comes late does not lengthen the hold.
	hold uint32
	// sweep: the pinner also pins, every pinSweep, the closed entries
	// its events missed (the linux profile; gcp-cloud-nat's control loop
	// sweeps in its rounds). Under load one of 256 held entries was once
	// left unpinned in CI, its event never acted on.
	sweep bool
}

// pinSweep is how often a sweeping rule's missed entries are pinned.
const pinSweep = time.Second

// pinner pins closed entries from conntrack's update events, on sockets
// of the box's namespace.
type pinner struct {
	events, update, sweeper *conntrack.Conn
	rule                    atomic.Pointer[pinRule]
	once                    sync.Once
	done                    chan struct{}
	// err is why pinning stopped, if it did.
	err atomic.Pointer[error]
}

// openPinner opens the pinner's sockets; it must run in the box's namespace.
func openPinner() (*pinner, error) {
	ev, err := conntrack.Dial(nil)
	if err != nil {
		return nil, fmt.Errorf("open conntrack events: %w", err)
	}
	up, err := conntrack.Dial(nil)
	if err != nil {
		_ = ev.Close()
		return nil, fmt.Errorf("open conntrack: %w", err)
	}
	sw, err := conntrack.Dial(nil)
	if err != nil {
		_ = ev.Close()
		_ = up.Close()
		return nil, fmt.Errorf("open conntrack: %w", err)
	}
	return &pinner{events: ev, update: up, sweeper: sw, done: make(chan struct{})}, nil
}

// pin makes r the rule in force (nil: pin nothing). The first time, it
// joins conntrack's update events before it returns, so that no flow of
// the config that closes afterwards goes unseen.
func (p *pinner) pin(r *pinRule) {
	p.rule.Store(r)
	if r != nil {
		p.once.Do(p.listen)
	}
}

func (p *pinner) close() error {
	select {
	case <-p.done:
	default:
		close(p.done)
	}
	return errors.Join(p.events.Close(), p.update.Close(), p.sweeper.Close())
}

func (p *pinner) listen() {
	// A big buffer: an overrun socket stops the events (the control
	// loop's sweep still pins what they missed).
	_ = p.events.SetReadBuffer(8 << 20)
	evs := make(chan conntrack.Event, 4096)
	errc, err := p.events.Listen(evs, 1, []netfilter.NetlinkGroup{netfilter.GroupCTUpdate})
	if err != nil {
		p.err.Store(&err)
		return
	}
	go p.serve(evs, errc)
	go p.sweep()
}

// sweep pins, every pinSweep while a sweeping rule is in force, the
// closed entries that need it.
func (p *pinner) sweep() {
	t := time.NewTicker(pinSweep)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
		}
		r := p.rule.Load()
		if r == nil || !r.sweep {
			continue
		}
		flows, err := p.sweeper.Dump(nil)
		if err != nil {
			continue // the next sweep tries again; the events still pin
		}
		_ = pinClosed(p.sweeper, flows, r) // a failed pin is tried again next sweep
	}
}

// pinClosed pins the flows of flows that need it under r, on c. A flow
// that ended meanwhile (ENOENT) is no error.
func pinClosed(c *conntrack.Conn, flows []conntrack.Flow, r *pinRule) error {
	for _, f := range flows {
		if needsPin(f, r.sources) {
			if err := c.Update(pinned(f, r.hold)); err != nil && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("pin closed flow: %w", err)
			}
		}
	}
	return nil
}

func (p *pinner) serve(evs <-chan conntrack.Event, errc <-chan error) {
	for {
		select {
		case <-p.done:
			return
		case err := <-errc:
			p.err.Store(&err)
			return
		case ev := <-evs:
			if r := p.rule.Load(); r != nil && ev.Flow != nil && needsPin(*ev.Flow, r.sources) {
				_ = p.update.Update(pinned(*ev.Flow, r.hold))
			}
		}
	}
}

// needsPin reports whether f is a closed, translated TCP flow of sources
// that is not pinned yet.
func needsPin(f conntrack.Flow, sources map[netip.Addr]bool) bool {
	return f.TupleOrig.Proto.Protocol == unix.IPPROTO_TCP && closedTCP(f.ProtoInfo.TCP) &&
		f.Status.Value&conntrack.StatusSrcNAT != 0 && !f.Status.FixedTimeout() &&
		(sources == nil || sources[f.TupleOrig.IP.SourceAddress])
}

// pinned is the update that pins f for hold seconds.
func pinned(f conntrack.Flow, hold uint32) conntrack.Flow {
	return conntrack.Flow{TupleOrig: f.TupleOrig, Timeout: hold,
		Status: conntrack.Status{Value: f.Status.Value | conntrack.StatusFixedTimeout}}
}
