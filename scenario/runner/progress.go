package runner

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Live is one tick of the run as the progress view shows it.
type Live struct {
	At           time.Duration
	Phase        string
	OKPerSec     float64
	ErrorsPerSec float64
	OpenConns    int64
	// PortUtilization is the highest over NAT boxes (0..1); Conntrack
	// the sum of their entries.
	PortUtilization float64
	Conntrack       uint64
	// NATMissing says a NAT box's reading of this tick failed or came
	// too late: the NAT figures are then shown as n/a, never as 0.
	NATMissing bool
	// AWS is set when a NAT box is an AWS NAT gateway: its
	// ErrorPortAllocation and IdleTimeoutCount since the run began,
	// summed over such boxes.
	AWS *LiveAWS
	// GCP is set when a NAT box is a Cloud NAT: allocated_ports and
	// port_usage of the VM with the most now, and the packets dropped
	// since the run began by reason, over such boxes.
	GCP *LiveGCP
}

// LiveGCP is the part of a progress line of Cloud NATs.
type LiveGCP struct {
	AllocatedPorts, PortUsage                    int
	OutOfResources, EndpointIndependenceConflict uint64
}

// LiveAWS is the part of a progress line of AWS NAT gateways.
type LiveAWS struct {
	ErrorPortAllocation, IdleTimeoutCount uint64
}

// natText is the NAT part of a progress line.
func (l Live) natText() string {
	if l.NATMissing {
		return "nat n/a (reading missing)"
	}
	s := fmt.Sprintf("nat ports %5.1f%%  conntrack %6d", 100*l.PortUtilization, l.Conntrack)
	if a := l.AWS; a != nil {
		s += fmt.Sprintf("  ErrorPortAllocation %d  IdleTimeoutCount %d", a.ErrorPortAllocation, a.IdleTimeoutCount)
	}
	if g := l.GCP; g != nil {
		s += fmt.Sprintf("  allocated_ports %d  port_usage %d  OUT_OF_RESOURCES %d  ENDPOINT_INDEPENDENCE_CONFLICT %d",
			g.AllocatedPorts, g.PortUsage, g.OutOfResources, g.EndpointIndependenceConflict)
	}
	return s
}

// Progress shows a run as it goes.
type Progress interface {
	// Start announces the run; total is the scheduled length.
	Start(name, runID string, total time.Duration)
	// Tick shows the latest tick.
	Tick(Live)
	// Event prints a line: a phase starting, a fault injected or reverted,
	// an alarm firing.
	Event(at time.Duration, msg string)
	// Note prints a line that is no moment of the run: the testbed being
	// built, an interruption. It may be called at any time, from any
	// goroutine, also before Start and after Stop.
	Note(msg string)
	// Stop ends the view; it returns even when the run ended early, and
	// may be called more than once.
	Stop()
}

// NewProgress returns a live bar (mpb) when w is a terminal, and plain
// lines (one per tick) otherwise, as CI logs want.
func NewProgress(w io.Writer) Progress {
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return &barProgress{w: w}
		}
	}
	return &lineProgress{w: w}
}

// lineProgress prints one line per tick and per event.
type lineProgress struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *lineProgress) Start(name, runID string, total time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "natlab run %s (run %s), %s\n", name, runID, total)
}

func (p *lineProgress) Tick(l Live) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%s\n", l.line())
}

func (p *lineProgress) Event(at time.Duration, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "[%6.1fs] %s\n", at.Seconds(), msg)
}

func (p *lineProgress) Note(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, msg)
}

func (p *lineProgress) Stop() {}

func (l Live) line() string {
	return fmt.Sprintf("[%6.1fs] %-12s ok/s %7.1f  err/s %7.1f  open %6d  %s",
		l.At.Seconds(), l.Phase, l.OKPerSec, l.ErrorsPerSec, l.OpenConns, l.natText())
}

// barProgress draws one mpb bar for the run with the live figures beside it.
type barProgress struct {
	w     io.Writer
	start time.Time

	// lifeMu orders the lines written through mpb against Stop, so none
	// is lost (mpb drops writes once it is done) and none lands in the
	// middle of the bar (lines before Start and after Stop go to w).
	lifeMu  sync.Mutex
	p       *mpb.Progress
	bar     *mpb.Bar
	stopped bool

	// mu guards what the decorators read. It is apart from lifeMu: the
	// decorators run inside mpb's render, which a write to mpb may wait on.
	mu   sync.Mutex
	live Live
}

// stopGrace bounds how long Stop waits for mpb to draw its last frame.
const stopGrace = 2 * time.Second

func (p *barProgress) Start(name, runID string, total time.Duration) {
	p.lifeMu.Lock()
	defer p.lifeMu.Unlock()
	p.p = mpb.New(mpb.WithOutput(p.w), mpb.WithWidth(30), mpb.WithRefreshRate(200*time.Millisecond))
	p.start = time.Now()
	p.bar = p.p.New(int64(max(total, time.Second)/time.Millisecond), mpb.BarStyle(),
		mpb.PrependDecorators(decor.Name(name+" ", decor.WC{}), decor.Any(func(decor.Statistics) string {
			p.mu.Lock()
			defer p.mu.Unlock()
			return fmt.Sprintf("%-10s", p.live.Phase)
		})),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
			p.mu.Lock()
			defer p.mu.Unlock()
			l := p.live
			return fmt.Sprintf(" %5.1fs  ok/s %6.0f  err/s %6.0f  %s",
				time.Since(p.start).Seconds(), l.OKPerSec, l.ErrorsPerSec, l.natText())
		})))
	fmt.Fprintf(p.p, "natlab run %s (run %s)\n", name, runID)
}

func (p *barProgress) Tick(l Live) {
	p.mu.Lock()
	p.live = l
	p.mu.Unlock()
	p.lifeMu.Lock()
	bar := p.bar
	p.lifeMu.Unlock()
	if bar != nil {
		bar.SetCurrent(int64(l.At / time.Millisecond)) // a no-op once the bar is done
	}
}

func (p *barProgress) Event(at time.Duration, msg string) {
	p.println(fmt.Sprintf("[%6.1fs] %s", at.Seconds(), msg))
}

func (p *barProgress) Note(msg string) { p.println(msg) }

// println writes a line above the live bar, or straight to w when there
// is no bar (yet, or any more). It starts at the first column: a key the
// user typed (Ctrl-C echoes as ^C) moves the cursor, and mpb clears the
// old frame only from there.
func (p *barProgress) println(line string) {
	p.lifeMu.Lock()
	defer p.lifeMu.Unlock()
	if p.p == nil || p.stopped {
		fmt.Fprintln(p.w, "\r"+line)
		return
	}
	fmt.Fprintln(p.p, "\r"+line)
}

// Stop ends the bar and waits (a bounded time) for its last frame.
//
// mpb's Wait returns once every bar is done, and a bar made with a total
// is done only when its current reaches that total: SetTotal is a no-op
// on such a bar (mpb: "effective only for bar which was constructed with
// total <= 0"). A run cut short (Ctrl-C, an error) never gets there, so
// Wait blocked for ever. Abort ends the bar where it is (a no-op on a bar
// already complete) and keeps its last frame on the screen.
func (p *barProgress) Stop() {
	p.lifeMu.Lock()
	if p.p == nil || p.stopped {
		p.lifeMu.Unlock()
		return
	}
	p.stopped = true
	p.lifeMu.Unlock()
	p.bar.Abort(false)
	waited := make(chan struct{})
	go func() {
		p.p.Wait()
		close(waited)
	}()
	select {
	case <-waited:
		return
	case <-time.After(stopGrace):
	}
	// mpb did not finish drawing (a terminal that does not take output):
	// cancel it rather than hang the run's cleanup on the view.
	go p.p.Shutdown()
	select {
	case <-waited:
	case <-time.After(stopGrace):
	}
}
