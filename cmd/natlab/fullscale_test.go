package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dockerclient "github.com/docker/docker/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ti-mo/conntrack"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/natlab/natlab/chaos"
	"github.com/natlab/natlab/docker"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/reports"
	"github.com/natlab/natlab/scenario/runner"
	"github.com/natlab/natlab/testbed/netns"
	"github.com/natlab/natlab/testbed/sampler"
)

// skipUnlessFullScale skips a full-scale fixture unless it runs here: only with
// NATLAB_FULL_SCALE=1 and without -race (.ci/run's full-scale step).
// Measured: under -race the agents are instrumented and the full-scale
// runs miss their figures (NAT readings past ~20,000 entries land late or
// not at all, and thousands more connects time out).
func skipUnlessFullScale(t *testing.T) {
	t.Helper()
	if raceEnabled || os.Getenv("NATLAB_FULL_SCALE") != "1" {
		t.Skip("full-scale fixture: .ci/run runs it without -race with NATLAB_FULL_SCALE=1 (a step of its own)")
	}
}

// ctCounter reads how many conntrack entries one network namespace holds,
// from ctnetlink's global statistics (IPCTNL_MSG_CT_GET_STATS: the
// kernel's own count of the namespace's entries, O(1), no dump). It is a
// socket of the test's own, opened inside the NAT's namespace, so it
// shares nothing with the agent that the sampler reads.
//
// The request is the one ti-mo/conntrack's StatsGlobal sends, but read by
// hand: the kernel marks its single reply NLM_F_MULTI without a DONE
// after it, and a netlink library that waits for DONE never returns
// (StatsGlobal hangs here).
type ctCounter struct {
	fd  int
	seq uint32
}

// ctnetlink's numbers (linux/netfilter/nfnetlink.h, nfnetlink_conntrack.h).
const (
	nfnlSubsysCTNetlink   = 1
	ipctnlMsgCTGetStats   = 5
	ctaStatsGlobalEntries = 1
)

// openCTCounter opens a counter in the namespace ns.
func openCTCounter(ns vnetns.NsHandle) (*ctCounter, error) {
	fd := -1
	err := netns.Do(ns, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open ctnetlink socket: %w", err)
	}
	tv := unix.Timeval{Sec: 1}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("ctnetlink socket timeout: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind ctnetlink socket: %w", err)
	}
	return &ctCounter{fd: fd}, nil
}

func (c *ctCounter) Close() error { return unix.Close(c.fd) }

// count asks for the namespace's number of entries and waits for the
// answer to this request (a late answer to an earlier one is skipped).
func (c *ctCounter) count() (int, error) {
	c.seq++
	req := make([]byte, unix.NLMSG_HDRLEN+4) // header + nfgenmsg (AF_UNSPEC, version 0, res_id 0)
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], nfnlSubsysCTNetlink<<8|ipctnlMsgCTGetStats)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST)
	binary.NativeEndian.PutUint32(req[8:], c.seq)
	if err := unix.Sendto(c.fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, fmt.Errorf("ctnetlink get stats: %w", err)
	}
	buf := make([]byte, 4096)
	for {
		n, _, err := unix.Recvfrom(c.fd, buf, 0)
		if err != nil {
			return 0, fmt.Errorf("ctnetlink get stats: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return 0, fmt.Errorf("ctnetlink get stats: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != c.seq {
				continue
			}
			if m.Header.Type == unix.NLMSG_ERROR {
				if len(m.Data) >= 4 {
					if code := int32(binary.NativeEndian.Uint32(m.Data)); code != 0 {
						return 0, fmt.Errorf("ctnetlink get stats: %w", unix.Errno(-code))
					}
				}
				continue
			}
			return entriesAttr(m.Data)
		}
	}
}

// entriesAttr finds CTA_STATS_GLOBAL_ENTRIES (a big-endian u32) after the
// nfgenmsg header.
func entriesAttr(b []byte) (int, error) {
	if len(b) < 4 {
		return 0, errors.New("ctnetlink stats: short reply")
	}
	for b = b[4:]; len(b) >= unix.SizeofNlAttr; {
		l := int(binary.NativeEndian.Uint16(b))
		typ := binary.NativeEndian.Uint16(b[2:]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
		if l < unix.SizeofNlAttr || l > len(b) {
			break
		}
		if typ == ctaStatsGlobalEntries && l >= unix.SizeofNlAttr+4 {
			return int(binary.BigEndian.Uint32(b[unix.SizeofNlAttr:])), nil
		}
		b = b[min(len(b), (l+unix.NLA_ALIGNTO-1)&^(unix.NLA_ALIGNTO-1)):]
	}
	return 0, errors.New("ctnetlink stats: no entries attribute")
}

// directCount is one count of the NAT's table by the test: the kernel's
// count at some instant between sent and got.
type directCount struct {
	sent, got time.Time
	entries   int
}

// natTick is one sample as the sampler handed it to the watchers, and
// when: the NAT box read its table between the reading's ReadAt and got.
type natTick struct {
	s   sampler.Sample
	got time.Time
}

// natProbe is a runner.Watcher that, from the moment the testbed is up,
// counts the NAT's conntrack table directly every few milliseconds and
// keeps every sample the sampler takes, for checkSampling.
type natProbe struct {
	t       *testing.T
	testbed string // netns or docker

	mu      sync.Mutex
	counts  []directCount
	ticks   []natTick
	openErr error
	begun   bool
	stop    chan struct{}
	done    chan struct{}
}

func newNATProbe(t *testing.T, testbed string) *natProbe {
	return &natProbe{t: t, testbed: testbed, stop: make(chan struct{}), done: make(chan struct{})}
}

// natNamespace opens the network namespace of the run's NAT box.
func (p *natProbe) natNamespace(info runner.RunInfo) (vnetns.NsHandle, error) {
	if len(info.NATs) != 1 {
		return 0, fmt.Errorf("want one NAT box, the run has %v", info.NATs)
	}
	if p.testbed != "docker" {
		return vnetns.GetFromName(netns.NamespaceName(info.RunID, info.NATs[0]))
	}
	cli, err := dockerclient.NewClientWithOpts(dockerclient.FromEnv, dockerclient.WithAPIVersionNegotiation())
	if err != nil {
		return 0, err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := cli.ContainerInspect(ctx, docker.ContainerName(info.RunID, info.NATs[0]))
	if err != nil {
		return 0, err
	}
	if c.State == nil || c.State.Pid == 0 {
		return 0, fmt.Errorf("container %s does not run", c.Name)
	}
	return vnetns.GetFromPid(c.State.Pid)
}

// Begin opens the counter in the NAT's namespace and counts until stopped.
func (p *natProbe) Begin(info runner.RunInfo) {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.stop:
		return
	default:
	}
	p.begun = true
	go func() {
		defer close(p.done)
		c, err := p.open(info)
		if err != nil {
			p.mu.Lock()
			p.openErr = err
			p.mu.Unlock()
			return
		}
		defer c.Close()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			sent := time.Now()
			n, err := c.count()
			got := time.Now()
			p.mu.Lock()
			if err != nil {
				p.openErr = err
			} else {
				p.counts = append(p.counts, directCount{sent, got, n})
			}
			p.mu.Unlock()
			if err != nil {
				return
			}
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
		}
	}()
}

func (p *natProbe) open(info runner.RunInfo) (*ctCounter, error) {
	ns, err := p.natNamespace(info)
	if err != nil {
		return nil, fmt.Errorf("NAT namespace of run %s: %w", info.RunID, err)
	}
	defer ns.Close()
	return openCTCounter(ns)
}

func (p *natProbe) Sample(loadgen.Sample) {}
func (p *natProbe) Marker(chaos.Marker)   {}

func (p *natProbe) Tick(_ runner.ClientTick, s sampler.Sample) {
	got := time.Now()
	p.mu.Lock()
	p.ticks = append(p.ticks, natTick{s, got})
	p.mu.Unlock()
}

// finish stops the counting (the run has ended) and waits for it, if
// it began (a run that failed before its testbed was up never calls
// Begin).
func (p *natProbe) finish() {
	p.mu.Lock()
	begun := p.begun
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	p.mu.Unlock()
	if begun {
		<-p.done
	}
}

// inFlightSlack is how far a dump may honestly stray from the kernel's
// count beyond what the table did meanwhile: the count includes entries of
// packets still in the hooks (not yet confirmed, so not in a dump), a few
// at 8,000 new connections a second.
const inFlightSlack = 64

// checkSampling holds the sampler to what issue 9 asks: at least 95% of
// ticks start within 20% of the tick interval, and every NAT reading
// agrees with the test's own direct counts of the table around it: it
// lies between the lowest and highest count from just before the box
// read its table until the sampler handed the reading on (plus
// inFlightSlack), so it is never 0 while the table held entries. A
// reading that failed is missing, not 0: it is counted and logged, and
// the report's own count of missing readings is checkRunDir's concern.
func (p *natProbe) checkSampling(t *testing.T, tick time.Duration) {
	t.Helper()
	p.finish()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !assert.NoError(t, p.openErr, "direct conntrack count") || !assert.NotEmpty(t, p.counts, "direct counts") {
		return
	}
	if !assert.GreaterOrEqual(t, len(p.ticks), 10, "samples") {
		return
	}
	late, worst := sampler.LateTicks(samplesOf(p.ticks), tick)
	onTime := float64(len(p.ticks)-late) / float64(len(p.ticks))
	if !assert.GreaterOrEqual(t, onTime, 0.95, "ticks within 20%% of the %s tick: %d of %d late (latest %s)", tick, late, len(p.ticks), worst) {
		for i, tk := range p.ticks {
			if tk.s.Late > tick/5 {
				start := tk.s.Time.Add(-tk.s.At)
				var reads []string
				for _, n := range tk.s.NATs {
					reads = append(reads, fmt.Sprintf("%s read %s after its tick, in %s", n.Host, n.ReadAt-tk.s.At, tk.got.Sub(start.Add(n.ReadAt)).Round(time.Millisecond)))
				}
				prev := ""
				if i > 0 {
					// What held the tick up: the sample before, from its
					// start until the sampler handed it on.
					pt := p.ticks[i-1]
					pstart := pt.s.Time.Add(-pt.s.At)
					var preads []string
					for _, n := range pt.s.NATs {
						preads = append(preads, fmt.Sprintf("its %s reading done %s after it began", n.Host, pt.got.Sub(pstart.Add(n.ReadAt)).Round(time.Millisecond)))
					}
					prev = fmt.Sprintf("; the sample before took %s (%s)", pt.got.Sub(pt.s.Time).Round(time.Millisecond), strings.Join(preads, ", "))
				}
				t.Logf("late sample %d at %s: %s late; %s%s", i, tk.s.At.Round(time.Millisecond), tk.s.Late.Round(time.Millisecond), strings.Join(reads, ", "), prev)
			}
		}
	}

	counts := p.counts // in order of sent
	missing, compared, peak := 0, 0, 0
	var widest int
	for i, tk := range p.ticks {
		start := tk.s.Time.Add(-tk.s.At) // the sampler's start
		for _, n := range tk.s.NATs {
			if n.Err != "" {
				missing++
				t.Logf("sample %d at %s: NAT reading missing: %s", i, tk.s.At, n.Err)
				continue
			}
			// The box read its table after the sampler asked (the
			// tick's Time) and had read all of it by ReadAt, before
			// the sampler handed the reading on (got): the last count
			// got before the ask, through the first one sent after got.
			from, to := tk.s.Time, tk.got
			lo := sort.Search(len(counts), func(j int) bool { return !counts[j].got.Before(from) })
			lo = max(lo-1, 0)
			hi := sort.Search(len(counts), func(j int) bool { return counts[j].sent.After(to) })
			hi = min(hi, len(counts)-1)
			if hi < lo {
				t.Errorf("sample %d at %s: no direct count around its reading (%s..%s)", i, tk.s.At, from.Sub(start), to.Sub(start))
				continue
			}
			least, most := counts[lo].entries, counts[lo].entries
			for _, c := range counts[lo : hi+1] {
				least, most = min(least, c.entries), max(most, c.entries)
			}
			compared++
			peak = max(peak, n.ConntrackEntries)
			widest = max(widest, most-least)
			if n.ConntrackEntries < least-inFlightSlack || n.ConntrackEntries > most+inFlightSlack {
				t.Errorf("sample %d at %s (read at %s): conntrack %d, the table held %d..%d meanwhile", i, tk.s.At, n.ReadAt, n.ConntrackEntries, least, most)
			}
			if least > 0 && n.ConntrackEntries == 0 {
				t.Errorf("sample %d at %s: conntrack 0 while the table held at least %d", i, tk.s.At, least)
			}
		}
	}
	t.Logf("%d samples, %d late (latest %s), %d NAT readings compared with %d direct counts (peak %d, widest change around a reading %d), %d missing",
		len(p.ticks), late, worst, compared, len(counts), peak, widest, missing)
	assert.Positive(t, compared, "NAT readings compared")
}

// check runs checkSampling after the run that wrote dir, whatever its
// verdict (the sampling is judged on its own), at the run's tick; a nil
// probe checks nothing.
func (p *natProbe) check(t *testing.T, dir string) {
	t.Helper()
	if p == nil {
		return
	}
	tick := sampler.DefaultTick
	if rep, err := reports.Read(filepath.Join(dir, "report.json")); err == nil && rep.Sampling != nil {
		tick = rep.Sampling.Tick.D()
	}
	p.checkSampling(t, tick)
}

func samplesOf(ts []natTick) []sampler.Sample {
	out := make([]sampler.Sample, len(ts))
	for i, t := range ts {
		out[i] = t.s
	}
	return out
}

// fullScaleFixtures are incident 001 at its real size and its fix.
var fullScaleFixtures = []string{"nat-port-exhaustion-full", "nat-port-exhaustion-full-2ips"}

func isFullScale(name string) bool {
	for _, f := range fullScaleFixtures {
		if f == name {
			return true
		}
	}
	return false
}

// watchFullScale makes the next `natlab run` of this test hand its
// samples to a natProbe, until the test ends.
//
// Every run is held to the 95%-on-time bound of issue 9: the NAT's
// reading walks the agent's event-fed copy of its table (8-20 ms at
// 100,000 entries), where a dump per tick took 0.8 s at 64,512 entries
// and 1.8 to 2 s at 100,000 while the clients opened 8,000 connections a
// second (a third of the 2-IP fixture's ticks late).
func watchFullScale(t *testing.T, testbed string) *natProbe {
	p := newNATProbe(t, testbed)
	watchRuns = p
	t.Cleanup(func() {
		watchRuns = nil
		p.finish()
	})
	return p
}

// The direct count is the namespace's own: entries created in a fresh
// namespace are counted there, and a counter in another namespace does
// not see them.
func TestCTCounterCountsItsNamespace(t *testing.T) {
	requireRoot(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := vnetns.Get()
	require.NoError(t, err)
	defer orig.Close()
	ns, err := vnetns.New() // the thread is now in ns
	require.NoError(t, err)
	defer ns.Close()
	const n = 300
	ct, err := conntrack.Dial(nil)
	if err == nil {
		for i := range n {
			f := conntrack.NewFlow(unix.IPPROTO_TCP, conntrack.StatusConfirmed, netip.MustParseAddr("198.18.200.2"), netip.MustParseAddr("198.18.100.2"), uint16(10000+i), 8080, 600, 0)
			f.ProtoInfo.TCP = &conntrack.ProtoInfoTCP{State: 3}
			if err = ct.Create(f); err != nil {
				break
			}
		}
		ct.Close()
	}
	require.NoError(t, vnetns.Set(orig))
	require.NoError(t, err, "create conntrack entries")

	c, err := openCTCounter(ns)
	require.NoError(t, err)
	defer c.Close()
	for range 3 { // the counter is reused tick after tick
		got, err := c.count()
		require.NoError(t, err)
		assert.Equal(t, n, got)
	}
	other, err := vnetns.New()
	require.NoError(t, err)
	defer other.Close()
	require.NoError(t, vnetns.Set(orig))
	oc, err := openCTCounter(other)
	require.NoError(t, err)
	defer oc.Close()
	got, err := oc.count()
	require.NoError(t, err)
	assert.Zero(t, got, "a fresh namespace's table is empty")
}
