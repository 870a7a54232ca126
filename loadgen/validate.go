package loadgen

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/natlab/natlab/internal/field"
	"github.com/natlab/natlab/internal/portrange"
)

// Validate reports every problem of the plan at once (joined with
// errors.Join), each a *field.Error whose path is the field's JSON name
// ("strategy.pool", "phases[1].schedule.rate") and whose message says what
// would be valid. Zero fields that have defaults are not problems.
func (p Plan) Validate() error {
	var errs []error
	bad := func(path, format string, a ...any) { errs = append(errs, field.Errorf(path, format, a...)) }

	if host, port, err := net.SplitHostPort(p.Target); err != nil || host == "" || port == "" {
		bad("target", "%q: want host:port, e.g. \"198.19.0.100:8080\"", p.Target)
	}
	for i, s := range p.Sources {
		if !s.IsValid() {
			bad(fmt.Sprintf("sources[%d]", i), "not a valid IP address")
		}
	}
	switch p.SourcePick {
	case "", PickRoundRobin, PickRandom:
	default:
		errs = append(errs, &field.Error{Path: "source_pick", Msg: fmt.Sprintf("%q: want %q or %q", p.SourcePick, PickRoundRobin, PickRandom),
			Valid: []string{PickRoundRobin, PickRandom}})
	}
	if p.Tick != 0 && p.Tick < MinTick {
		bad("tick", "%s: want at least %s", p.Tick, MinTick)
	}
	if p.ConnectTimeout < 0 {
		bad("connect_timeout", "%s: want > 0 (0 = %s)", p.ConnectTimeout, DefaultConnectTimeout)
	}
	if p.SYNTimeout < 0 || p.SYNTimeout > 0 && p.SYNTimeout < time.Millisecond {
		bad("syn_timeout", "%s: want 0 (the dialer's connect_timeout alone) or at least 1ms", p.SYNTimeout)
	}
	if connect := cmp.Or(p.ConnectTimeout, DefaultConnectTimeout); p.SYNTimeout > 0 && p.SYNTimeout >= connect {
		bad("syn_timeout", "%s: want less than connect_timeout (%s), which bounds the dial behind it", p.SYNTimeout, connect)
	}
	if p.SYNTimeout > 0 && p.Strategy.Kind == KindUDP {
		bad("syn_timeout", "%s: udp sends no SYN; want 0", p.SYNTimeout)
	}
	if p.RequestTimeout < 0 {
		bad("request_timeout", "%s: want > 0 (0 = %s)", p.RequestTimeout, DefaultRequestTimeout)
	}
	if p.MaxInFlight < 0 {
		bad("max_in_flight", "%d: want > 0 (0 = %d)", p.MaxInFlight, DefaultMaxInFlight)
	}
	errs = append(errs, field.Prefix("strategy", p.Strategy.validate()))
	if len(p.Phases) == 0 {
		bad("phases", "want at least one phase")
	}
	for i, ph := range p.Phases {
		errs = append(errs, field.Prefix(fmt.Sprintf("phases[%d]", i), ph.validate()))
	}
	return errors.Join(errs...)
}

func (s Strategy) validate() error {
	var errs []error
	bad := func(path, format string, a ...any) { errs = append(errs, field.Errorf(path, format, a...)) }
	kinds := []string{KindTCP, KindHTTP1, KindH2C, KindUDP, KindHolepunch}
	switch s.Kind {
	case KindTCP, KindHTTP1, KindH2C, KindUDP, KindHolepunch:
	default:
		errs = append(errs, &field.Error{Path: "kind", Msg: fmt.Sprintf("%q: want one of %q, %q, %q, %q, %q", s.Kind, KindTCP, KindHTTP1, KindH2C, KindUDP, KindHolepunch), Valid: kinds})
	}
	switch {
	case s.Redundancy < 0 || s.Redundancy > MaxRedundancy:
		bad("redundancy", "%d: want 1 to %d (0 = 1)", s.Redundancy, MaxRedundancy)
	case s.Redundancy != 0 && s.Kind != KindHolepunch:
		bad("redundancy", "%d: redundancy applies to strategy %q only, not %q", s.Redundancy, KindHolepunch, s.Kind)
	}
	if s.Kind == KindHolepunch && s.Payload != 0 {
		bad("payload", "%d: holepunch datagrams have a fixed size; leave payload out", s.Payload)
	}
	switch s.Pool {
	case "", PoolKeepAlive:
	case PoolNone:
		if s.Kind == KindH2C {
			errs = append(errs, &field.Error{Path: "pool", Msg: fmt.Sprintf("%q: h2c always multiplexes over a pool; use %q", s.Pool, PoolKeepAlive),
				Valid: []string{PoolKeepAlive}})
		}
	default:
		errs = append(errs, &field.Error{Path: "pool", Msg: fmt.Sprintf("%q: want %q or %q", s.Pool, PoolNone, PoolKeepAlive),
			Valid: []string{PoolNone, PoolKeepAlive}})
	}
	switch s.PoolPer {
	case "", PoolPerLoad:
	case PoolPerSource:
		// Without a keep-alive pool it has no effect, so that one --vary
		// compares a per-source pool with no pool at all.
		if s.Kind == KindH2C {
			errs = append(errs, &field.Error{Path: "pool_per", Msg: fmt.Sprintf("%q: h2c multiplexes over one pool per load; use %q", s.PoolPer, PoolPerLoad),
				Valid: []string{PoolPerLoad}})
		}
	default:
		errs = append(errs, &field.Error{Path: "pool_per", Msg: fmt.Sprintf("%q: want %q (one pool for the load) or %q (one pool per source address)", s.PoolPer, PoolPerLoad, PoolPerSource),
			Valid: []string{PoolPerLoad, PoolPerSource}})
	}
	if s.PoolSize < 0 {
		bad("pool_size", "%d: want >= 1 (0 = %d)", s.PoolSize, DefaultPoolSize)
	}
	if s.IdleTimeout < 0 {
		bad("idle_timeout", "%s: want >= 0 (0 = no limit)", s.IdleTimeout)
	}
	if s.MaxConnAge < 0 {
		bad("max_conn_age", "%s: want >= 0 (0 = no limit)", s.MaxConnAge)
	}
	if s.MaxRequestsPerConn < 0 {
		bad("max_requests_per_conn", "%d: want >= 0 (0 = no limit)", s.MaxRequestsPerConn)
	}
	if s.Payload < 0 {
		bad("payload", "%d: want >= 0", s.Payload)
	}
	if s.Kind == KindUDP && s.Payload != 0 && s.Payload < udpHeader {
		bad("payload", "%d: udp needs at least %d bytes (a sequence number)", s.Payload, udpHeader)
	}
	if s.Payload > 1<<20 {
		bad("payload", "%d: want at most 1 MiB", s.Payload)
	}
	if s.Path != "" && !strings.HasPrefix(s.Path, "/") {
		bad("path", "%q: want an absolute path starting with /", s.Path)
	}
	if s.LocalPorts != "" {
		if _, err := portrange.Parse(s.LocalPorts); err != nil {
			bad("local_ports", "%v", err)
		}
	}
	return errors.Join(errs...)
}

func (ph Phase) validate() error {
	var errs []error
	bad := func(path, format string, a ...any) { errs = append(errs, field.Errorf(path, format, a...)) }
	if ph.Name == "" {
		bad("name", "want a non-empty name")
	}
	if ph.Duration <= 0 {
		bad("duration", "%s: want > 0", ph.Duration)
	}
	sc := ph.Schedule
	rate := func(path string, r Rate) {
		if r.Freq < 0 || (r.Freq > 0 && r.Per <= 0) {
			bad("schedule."+path, "%v: want a rate like \"100/s\"", r)
		}
	}
	switch sc.Kind {
	case ScheduleClosed:
		if sc.Concurrency < 0 {
			bad("schedule.concurrency", "%d: want >= 1 workers (0 = idle phase)", sc.Concurrency)
		}
	case ScheduleOpen:
		rate("rate", sc.Rate)
	case ScheduleRamp:
		rate("from", sc.From)
		rate("to", sc.To)
	case ScheduleSpike:
		rate("rate", sc.Rate)
		rate("spike_rate", sc.SpikeRate)
		switch {
		case sc.SpikeAt < 0:
			bad("schedule.spike_at", "%s: want >= 0 (since the start of the phase)", sc.SpikeAt)
		case sc.SpikeFor <= 0:
			bad("schedule.spike_for", "%s: want > 0", sc.SpikeFor)
		case sc.SpikeAt+sc.SpikeFor > ph.Duration:
			bad("schedule.spike_at", "a spike at %s for %s ends at %s, after the phase ends at %s: start it earlier or make it shorter",
				sc.SpikeAt, sc.SpikeFor, sc.SpikeAt+sc.SpikeFor, ph.Duration)
		}
	case ScheduleHold:
		if sc.Hold < 0 {
			bad("schedule.hold", "%d: want >= 0 connections", sc.Hold)
		}
		rate("hold_ramp", sc.HoldRamp)
		if !sc.HoldRamp.IsZero() && sc.Hold > 1 {
			if need := rampSpan(sc.Hold-1, sc.HoldRamp); need > ph.Duration {
				bad("schedule.hold_ramp", "%v opens %d connections in %s, longer than the phase (%s): ramp faster or make the phase longer",
					sc.HoldRamp, sc.Hold, need, ph.Duration)
			}
		}
	default:
		valid := []string{ScheduleClosed, ScheduleOpen, ScheduleRamp, ScheduleSpike, ScheduleHold}
		errs = append(errs, &field.Error{Path: "schedule.kind", Msg: fmt.Sprintf("%q: want one of %q, %q, %q, %q, %q", sc.Kind,
			ScheduleClosed, ScheduleOpen, ScheduleRamp, ScheduleSpike, ScheduleHold), Valid: valid})
	}
	return errors.Join(errs...)
}
