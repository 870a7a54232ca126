package loadgen

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/natlab/natlab/internal/field"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in      string
		want    Rate
		perSec  float64
		wantErr bool
	}{
		{"100/s", Rate{100, time.Second}, 100, false},
		{"100", Rate{100, time.Second}, 100, false},
		{"5/100ms", Rate{5, 100 * time.Millisecond}, 50, false},
		{"1/10s", Rate{1, 10 * time.Second}, 0.1, false},
		{"60/m", Rate{60, time.Minute}, 1, false},
		{" 7 / s ", Rate{7, time.Second}, 7, false},
		{"0/s", Rate{0, time.Second}, 0, false},
		{"-1/s", Rate{}, 0, true},
		{"fast", Rate{}, 0, true},
		{"10/parsec", Rate{}, 0, true},
		{"10/0s", Rate{}, 0, true},
	}
	for _, tc := range tests {
		got, err := ParseRate(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want || got.PerSecond() != tc.perSec {
			t.Errorf("ParseRate(%q) = %v (%v/s), %v; want %v (%v/s), err %v", tc.in, got, got.PerSecond(), err, tc.want, tc.perSec, tc.wantErr)
		}
		if err == nil {
			back, err := ParseRate(got.String())
			if err != nil || back != got {
				t.Errorf("round trip of %q via %q gave %v, %v", tc.in, got.String(), back, err)
			}
		}
	}
}

func TestOutcomeNamesAndJSON(t *testing.T) {
	seen := map[string]bool{}
	for _, o := range AllOutcomes() {
		name := o.String()
		if name == "" || seen[name] || strings.HasPrefix(name, "outcome(") {
			t.Fatalf("outcome %d has a bad or duplicate name %q", o, name)
		}
		seen[name] = true
		b, err := json.Marshal(o)
		if err != nil || string(b) != `"`+name+`"` {
			t.Fatalf("json of %s = %s, %v", name, b, err)
		}
		var back Outcome
		if err := json.Unmarshal(b, &back); err != nil || back != o {
			t.Fatalf("json round trip of %s: %v, %v", name, back, err)
		}
	}
	if _, err := ParseOutcome("nope"); err == nil {
		t.Fatal("unknown outcome name accepted")
	}
	m, _ := json.Marshal(map[Outcome]uint64{OutcomeOK: 1, OutcomeHTTP5xx: 2})
	if string(m) != `{"http_5xx":2,"ok":1}` {
		t.Fatalf("outcome map json = %s", m)
	}
}

func TestClassify(t *testing.T) {
	op := func(op string, err error) error {
		return &net.OpError{Op: op, Net: "tcp", Err: os.NewSyscallError(op, err)}
	}
	tests := []struct {
		err   error
		stage Stage
		want  Outcome
	}{
		{nil, StageRequest, OutcomeOK},
		{op("connect", syscall.ECONNREFUSED), StageConnect, OutcomeRefused},
		{op("read", syscall.ECONNRESET), StageRequest, OutcomeReset},
		{op("write", syscall.EPIPE), StageRequest, OutcomeBrokenPipe},
		{op("connect", syscall.EADDRNOTAVAIL), StageConnect, OutcomeAddrNotAvail},
		{op("bind", syscall.EADDRINUSE), StageConnect, OutcomeAddrNotAvail},
		{op("connect", syscall.ENETUNREACH), StageConnect, OutcomeUnreachable},
		{op("connect", syscall.ETIMEDOUT), StageConnect, OutcomeConnectTimeout},
		{op("read", syscall.ETIMEDOUT), StageRequest, OutcomeReadTimeout},
		{&net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}, StageConnect, OutcomeConnectTimeout},
		{fmt.Errorf("read: %w", os.ErrDeadlineExceeded), StageRequest, OutcomeReadTimeout},
		{io.EOF, StageRequest, OutcomeClosed},
		{io.ErrUnexpectedEOF, StageRequest, OutcomeClosed},
		{fmt.Errorf("wait: %w", errPoolTimeout), StageRequest, OutcomePoolTimeout},
		{errors.New("malformed HTTP response"), StageRequest, OutcomeOther},
	}
	for _, tc := range tests {
		if got := Classify(tc.err, tc.stage); got != tc.want {
			t.Errorf("Classify(%v, %d) = %s, want %s", tc.err, tc.stage, got, tc.want)
		}
	}
	for code, want := range map[int]Outcome{200: OutcomeOK, 204: OutcomeOK, 301: OutcomeHTTP3xx, 404: OutcomeHTTP4xx, 503: OutcomeHTTP5xx, 100: OutcomeOther} {
		if got := StatusOutcome(code); got != want {
			t.Errorf("StatusOutcome(%d) = %s, want %s", code, got, want)
		}
	}
}

func validPlan() Plan {
	return Plan{Target: "198.19.0.100:8080", Strategy: Strategy{Kind: KindHTTP1},
		Phases: []Phase{{Name: "a", Duration: time.Second, Schedule: Schedule{Kind: ScheduleOpen, Rate: RatePerSecond(10)}}}}
}

func TestValidate(t *testing.T) {
	if err := validPlan().Validate(); err != nil {
		t.Fatalf("valid plan rejected: %v", err)
	}
	bad := validPlan()
	bad.Target = "nowhere"
	bad.SourcePick = "lottery"
	bad.Tick = 10 * time.Millisecond
	bad.Strategy = Strategy{Kind: "smtp", Pool: "sometimes", LocalPorts: "9-1"}
	bad.Phases = append(bad.Phases,
		Phase{Duration: 0, Schedule: Schedule{Kind: "chaotic"}},
		Phase{Name: "s", Duration: time.Second, Schedule: Schedule{Kind: ScheduleSpike, SpikeAt: 900 * time.Millisecond, SpikeFor: time.Second}})
	err := bad.Validate()
	if err == nil {
		t.Fatal("bad plan accepted")
	}
	fields, other := field.List(err)
	if len(other) > 0 {
		t.Errorf("problems that are not field errors: %v", other)
	}
	got := map[string]string{}
	for _, f := range fields {
		got[f.Path] = f.Msg
	}
	for path, want := range map[string]string{
		"target":                      `"nowhere"`,
		"source_pick":                 `"lottery"`,
		"tick":                        "10ms",
		"strategy.kind":               `"smtp"`,
		"strategy.pool":               `"sometimes"`,
		"strategy.local_ports":        "9-1",
		"phases[1].name":              "non-empty",
		"phases[1].duration":          "want > 0",
		"phases[1].schedule.kind":     `"chaotic"`,
		"phases[2].schedule.spike_at": "ends at 1.9s, after the phase ends at 1s",
	} {
		if !strings.Contains(got[path], want) {
			t.Errorf("Validate() does not report %q at %s:\n%v", want, path, err)
		}
	}
	if len(fields) != 10 {
		t.Errorf("want 10 problems reported at once, got %d:\n%v", len(fields), err)
	}

	// A pool's scope: one of two names, not for h2c.
	for _, c := range []struct {
		s    Strategy
		want string
	}{
		{Strategy{Kind: KindHTTP1, Pool: PoolKeepAlive, PoolPer: "server"}, `"server": want "load" (one pool for the load) or "source"`},
		{Strategy{Kind: KindH2C, Pool: PoolKeepAlive, PoolPer: PoolPerSource}, "h2c multiplexes over one pool per load"},
	} {
		p := validPlan()
		p.Strategy = c.s
		fields, _ := field.List(p.Validate())
		if len(fields) != 1 || fields[0].Path != "strategy.pool_per" || !strings.Contains(fields[0].Msg, c.want) {
			t.Errorf("%+v: want one problem at strategy.pool_per saying %q, got %v", c.s, c.want, fields)
		}
	}
	// A SYN timeout: the dialer's bound behind it, and a SYN to time.
	for _, c := range []struct {
		syn, connect time.Duration
		kind, want   string
	}{
		{-time.Second, 0, KindTCP, "want 0 (the dialer's connect_timeout alone) or at least 1ms"},
		{time.Microsecond, 0, KindTCP, "at least 1ms"},
		{3 * time.Second, 0, KindTCP, "3s: want less than connect_timeout (3s)"},
		{2 * time.Second, time.Second, KindHTTP1, "2s: want less than connect_timeout (1s)"},
		{time.Second, 0, KindUDP, "udp sends no SYN"},
	} {
		p := validPlan()
		p.Strategy.Kind, p.SYNTimeout, p.ConnectTimeout = c.kind, c.syn, c.connect
		fields, _ := field.List(p.Validate())
		if len(fields) != 1 || fields[0].Path != "syn_timeout" || !strings.Contains(fields[0].Msg, c.want) {
			t.Errorf("syn_timeout %s, connect_timeout %s, %s: want one problem at syn_timeout saying %q, got %v", c.syn, c.connect, c.kind, c.want, fields)
		}
	}
	synOK := validPlan()
	synOK.SYNTimeout = 2500 * time.Millisecond
	if err := synOK.Validate(); err != nil {
		t.Errorf("a 2.5s SYN timeout under the default connect timeout is valid: %v", err)
	}
	for _, st := range []Strategy{{Kind: KindTCP, Pool: PoolKeepAlive, PoolPer: PoolPerSource}, {Kind: KindHTTP1, Pool: PoolNone, PoolPer: PoolPerSource}} {
		p := validPlan()
		p.Strategy = st
		if err := p.Validate(); err != nil {
			t.Errorf("%+v is valid (a scope without a pool has no effect): %v", st, err)
		}
	}
}

func TestPlanJSONRoundTrip(t *testing.T) {
	p := validPlan()
	p.Sources = []netip.Addr{netip.MustParseAddr("198.18.0.2")}
	p.Strategy = Strategy{Kind: KindTCP, Pool: PoolKeepAlive, PoolSize: 8, IdleTimeout: time.Second, MaxConnAge: time.Minute,
		MaxRequestsPerConn: 100, Payload: 64, Linger0: true, LocalPorts: "40000-40100"}
	p.Phases = append(p.Phases, Phase{Name: "r", Duration: time.Second, Schedule: Schedule{Kind: ScheduleRamp, From: RatePerSecond(1), To: Rate{5, 100 * time.Millisecond}}})
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Plan
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(back)
	if string(b) != string(b2) || !strings.Contains(string(b), `"to":"5/ms"`) && !strings.Contains(string(b), `"to":"5/100ms"`) {
		t.Fatalf("plan json does not round trip:\n%s\n%s", b, b2)
	}
}

func TestSplitSumsToOriginal(t *testing.T) {
	p := validPlan()
	p.MaxInFlight = 100
	for i := range 7 {
		p.Sources = append(p.Sources, netip.AddrFrom4([4]byte{198, 18, 0, byte(10 + i)}))
	}
	p.Phases = []Phase{
		{Name: "o", Duration: time.Second, Schedule: Schedule{Kind: ScheduleOpen, Rate: RatePerSecond(100)}},
		{Name: "c", Duration: time.Second, Schedule: Schedule{Kind: ScheduleClosed, Concurrency: 10}},
		{Name: "h", Duration: time.Second, Schedule: Schedule{Kind: ScheduleHold, Hold: 40001}},
		{Name: "r", Duration: time.Second, Schedule: Schedule{Kind: ScheduleRamp, From: RatePerSecond(1), To: RatePerSecond(302)}},
	}
	parts := Split(p, 3)
	var rate, conc, hold, from, to, inflight int
	seen := map[netip.Addr]int{}
	for _, q := range parts {
		if err := q.Validate(); err != nil {
			t.Fatalf("split part invalid: %v", err)
		}
		rate += q.Phases[0].Schedule.Rate.Freq
		conc += q.Phases[1].Schedule.Concurrency
		hold += q.Phases[2].Schedule.Hold
		from += q.Phases[3].Schedule.From.Freq
		to += q.Phases[3].Schedule.To.Freq
		inflight += q.MaxInFlight
		for _, s := range q.Sources {
			seen[s]++
		}
	}
	if rate != 100 || conc != 10 || hold != 40001 || from != 1 || to != 302 || inflight != 100 || len(seen) != 7 {
		t.Fatalf("split sums: rate %d conc %d hold %d from %d to %d inflight %d sources %d", rate, conc, hold, from, to, inflight, len(seen))
	}
	for s, n := range seen {
		if n != 1 {
			t.Fatalf("source %s given to %d parts", s, n)
		}
	}
	if p.Phases[0].Schedule.Rate.Freq != 100 {
		t.Fatal("Split modified its input")
	}
}

func TestArrivalTimes(t *testing.T) {
	// constant 4/s: arrivals at 0, 250ms, 500ms, 750ms, none at 1s.
	for i, want := range []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, 750 * time.Millisecond} {
		got, ok := arrival(constantPacer{4}, uint64(i), time.Second)
		if !ok || (got-want).Abs() > time.Microsecond {
			t.Errorf("arrival %d = %s, %v; want %s", i, got, ok, want)
		}
	}
	if _, ok := arrival(constantPacer{4}, 4, time.Second); ok {
		t.Error("a fifth arrival in 1 s at 4/s")
	}
	// ramp 0 -> 100/s over 1 s: 50 arrivals, the 25th (i=24.5 ≈ half) near 0.707 s.
	r := rampPacer{0, 100, time.Second}
	n := 0
	for ; ; n++ {
		if _, ok := arrival(r, uint64(n), time.Second); !ok {
			break
		}
	}
	if n != 50 {
		t.Errorf("ramp 0->100/s over 1s: %d arrivals, want 50", n)
	}
	if got, _ := arrival(r, 25, time.Second); (got - 707*time.Millisecond).Abs() > 2*time.Millisecond {
		t.Errorf("ramp arrival 25 at %s, want ~707ms", got)
	}
}

func TestErrorSetBounds(t *testing.T) {
	var s errorSet
	for i := range 100 {
		s.add(OutcomeReset, fmt.Sprintf("reset %d", i), 1)
		s.add(OutcomeOther, fmt.Sprintf("odd %d", i), 1)
	}
	s.add(OutcomeReset, "reset 0", 5)
	var reset, other uint64
	for _, e := range s.samples {
		if e.Outcome == OutcomeReset {
			reset++
		} else {
			other++
		}
	}
	if reset != MaxErrorSamplesPerClass || other != MaxOtherErrorSamples || s.notKept != 200-MaxErrorSamplesPerClass-MaxOtherErrorSamples {
		t.Fatalf("kept %d reset, %d other, %d not kept", reset, other, s.notKept)
	}
	if s.sorted()[0].Count != 6 {
		t.Fatalf("repeated text not counted: %+v", s.sorted()[0])
	}
}
