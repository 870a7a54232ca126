package scenario

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/natlab/natlab/internal/field"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/service"
)

var (
	phaseKeys    = []string{"name", "duration", "load"}
	scheduleKeys = []string{"rate", "concurrency", "ramp", "spike", "hold"}
	loadKeys     = append([]string{"client", "target", "strategy", "pool", "pool_size", "pool_per", "idle_timeout", "max_conn_age",
		"max_requests_per_conn", "path", "payload", "linger0", "local_ports", "source_pick", "connect_timeout",
		"request_timeout", "max_in_flight", "redundancy"}, scheduleKeys...)
	rampKeys   = []string{"from", "to"}
	spikeKeys  = []string{"rate", "to", "at", "for"}
	holdKeys   = []string{"conns", "ramp"}
	strategies = []string{loadgen.KindTCP, loadgen.KindHTTP1, loadgen.KindH2C, loadgen.KindUDP, loadgen.KindHolepunch}
)

// strategyFor is the strategy that speaks each backend protocol.
var strategyFor = map[service.Protocol]string{
	service.TCPEcho:    loadgen.KindTCP,
	service.HTTP1:      loadgen.KindHTTP1,
	service.H2C:        loadgen.KindH2C,
	service.UDPEcho:    loadgen.KindUDP,
	service.Registrar:  loadgen.KindHTTP1,
	service.Rendezvous: loadgen.KindHolepunch,
}

// speaks reports whether a strategy can talk to a listener of protocol p.
func speaks(strategy string, p service.Protocol) bool {
	switch strategy {
	case loadgen.KindTCP:
		return p == service.TCPEcho
	case loadgen.KindHTTP1:
		return p == service.HTTP1 || p == service.H2C || p == service.Registrar
	case loadgen.KindH2C:
		return p == service.H2C
	case loadgen.KindUDP:
		return p == service.UDPEcho
	case loadgen.KindHolepunch:
		return p == service.Rendezvous
	}
	return false
}

// phases reads the phases and their loads.
func (p *parser) phases(n *yaml.Node, spec *testbed.Spec, tick time.Duration) []Phase {
	var out []Phase
	seen := map[string]int{}
	for i, item := range p.list(n, "phases", false) {
		label := fmt.Sprintf("phases[%d]", i)
		m := p.mapping(item, label, phaseKeys)
		if m == nil {
			continue
		}
		ph := Phase{Pos: posOf(m.node)}
		if v := m.get("name"); v == nil {
			p.errs.add(posOf(m.node), "%s has no name: every phase needs a unique name", label)
		} else if s, ok := p.str(v, label+".name"); ok {
			if prev, dup := seen[s]; dup {
				p.errs.add(posOf(v), "phase name %q is already used by the phase at line %d: phase names must be unique", s, prev)
			} else if s == "" {
				p.errs.add(posOf(v), "%s.name is empty: every phase needs a unique name", label)
			} else {
				seen[s] = v.Line
			}
			ph.Name = s
			label = fmt.Sprintf("phase %q", s)
		}
		if v := m.get("duration"); v == nil {
			p.errs.add(posOf(m.node), "%s has no duration: add one such as duration: 30s", label)
		} else {
			ph.Duration, _ = p.positiveDuration(v, "duration")
		}
		if v := m.get("load"); v != nil {
			var loads []loadAt
			for _, ln := range p.list(v, label+".load", true) {
				if l, lm, ok := p.load(ln, ph, spec, tick); ok {
					ph.Loads = append(ph.Loads, l)
					loads = append(loads, loadAt{l, lm})
				}
			}
			p.limits(ph, loads, spec)
		}
		out = append(out, ph)
	}
	if len(out) == 0 && deref(n) != nil && deref(n).Kind == yaml.SequenceNode {
		p.errs.add(posOf(n), "phases is empty: a scenario needs at least one phase")
	}
	return out
}

// load reads one load map.
func (p *parser) load(n *yaml.Node, ph Phase, spec *testbed.Spec, tick time.Duration) (LoadSpec, *mapping, bool) {
	before := len(p.errs.list)
	m := p.mapping(n, "load", loadKeys)
	if m == nil {
		return LoadSpec{}, nil, false
	}
	l := LoadSpec{Pos: posOf(m.node)}
	str := func(key string, dst *string) {
		if v := m.get(key); v != nil {
			*dst, _ = p.str(v, key)
		}
	}
	num := func(key string, lo int, dst *int) {
		if v := m.get(key); v != nil {
			*dst, _ = p.integer(v, key, lo, math.MaxInt32)
		}
	}
	dur := func(key string, dst *time.Duration) {
		if v := m.get(key); v != nil {
			*dst, _ = p.duration(v, key)
		}
	}
	str("client", &l.Client)
	str("strategy", &l.Strategy.Kind)
	str("pool", &l.Strategy.Pool)
	num("pool_size", 1, &l.Strategy.PoolSize)
	str("pool_per", &l.Strategy.PoolPer)
	dur("idle_timeout", &l.Strategy.IdleTimeout)
	dur("max_conn_age", &l.Strategy.MaxConnAge)
	num("max_requests_per_conn", 0, &l.Strategy.MaxRequestsPerConn)
	str("path", &l.Strategy.Path)
	num("payload", 0, &l.Strategy.Payload)
	if v := m.get("linger0"); v != nil {
		l.Strategy.Linger0, _ = p.boolean(v, "linger0")
	}
	str("local_ports", &l.Strategy.LocalPorts)
	str("source_pick", &l.SourcePick)
	dur("connect_timeout", &l.ConnectTimeout)
	dur("request_timeout", &l.RequestTimeout)
	num("max_in_flight", 1, &l.MaxInFlight)
	num("redundancy", 1, &l.Strategy.Redundancy)

	if l.Strategy.Kind != "" && !slices.Contains(strategies, l.Strategy.Kind) {
		p.errs.add(posOf(m.get("strategy")), "unknown strategy %q:%s valid strategies are %s",
			l.Strategy.Kind, didYouMean(l.Strategy.Kind, strategies), strings.Join(strategies, ", "))
	}
	if l.Client != "" && !hasClient(spec, l.Client) {
		names := clientNames(spec)
		p.errs.add(posOf(m.get("client")), "load.client %q is not a client host:%s client hosts are %s",
			l.Client, didYouMean(l.Client, names), orNone(names))
	}
	p.target(m, &l, spec)
	p.schedule(m, &l)

	if len(p.errs.list) == before {
		plan := l.Plan(ph.Name, ph.Duration, tick)
		plan.Target = "backend:" + strconv.Itoa(int(l.Port))
		if ph.Duration <= 0 {
			plan.Phases[0].Duration = time.Hour
		}
		if err := plan.Validate(); err != nil {
			p.planErrors(err, m)
		}
	}
	return l, m, len(p.errs.list) == before
}

// target reads "name" or "name:port" and checks it against the backends;
// it also picks the strategy when none was given.
func (p *parser) target(m *mapping, l *LoadSpec, spec *testbed.Spec) {
	if p.appTarget(m, l, spec) {
		return
	}
	if len(spec.Backends) == 0 {
		return
	}
	b := spec.Backends[0]
	port := b.Port
	at := posOf(m.node)
	if v := m.get("target"); v != nil {
		at = posOf(v)
		s, ok := p.str(v, "target")
		if !ok {
			return
		}
		name, portText, hasPort := strings.Cut(s, ":")
		i := slices.IndexFunc(spec.Backends, func(b testbed.BackendSpec) bool { return b.Name == name })
		if i < 0 {
			names := backendNames(spec)
			if apps := appNames(spec); len(apps) > 0 {
				names = append(names, apps...)
				p.errs.add(at, "load.target %q is not a backend or app:%s backends and apps are %s", name, didYouMean(name, names), orNone(names))
				return
			}
			p.errs.add(at, "load.target %q is not a backend:%s backends are %s", name, didYouMean(name, names), orNone(names))
			return
		}
		b = spec.Backends[i]
		port = b.Port
		if hasPort {
			n, err := strconv.ParseUint(portText, 10, 16)
			if err != nil || n == 0 {
				p.errs.add(at, "load.target %q: want a backend name, or name:port with a port from 1 to 65535", s)
				return
			}
			port = uint16(n)
		}
	}
	l.Target, l.Port = b.Name, port
	var proto service.Protocol
	var ports []string
	for _, li := range append([]testbed.BackendListener{{Protocol: b.Protocol, Port: b.Port}}, b.Extra...) {
		ports = append(ports, fmt.Sprintf("%d (%s)", li.Port, li.Protocol))
		if li.Port == port && proto == "" {
			proto = li.Protocol
		}
	}
	if proto == "" {
		p.errs.add(at, "load.target %s:%d: backend %q does not listen on port %d: its listeners are %s", b.Name, port, b.Name, port, strings.Join(ports, ", "))
		return
	}
	if l.Strategy.Kind == "" {
		l.Strategy.Kind = strategyFor[proto]
		return
	}
	if slices.Contains(strategies, l.Strategy.Kind) && !speaks(l.Strategy.Kind, proto) {
		p.errs.add(m.keyPos("strategy"), "strategy %s cannot talk to %s:%d, which serves %s: use strategy %s or another target",
			l.Strategy.Kind, b.Name, port, proto, strategyFor[proto])
	}
}

// schedule reads exactly one of the schedule keys.
func (p *parser) schedule(m *mapping, l *LoadSpec) {
	var given []string
	for _, k := range m.order {
		if slices.Contains(scheduleKeys, k) {
			given = append(given, k)
		}
	}
	switch len(given) {
	case 0:
		if m.unknown > 0 {
			return // the unknown key was most likely the schedule
		}
		p.errs.add(posOf(m.node), "load has no schedule: give exactly one of %s", strings.Join(scheduleKeys, ", "))
		return
	case 1:
	default:
		p.errs.add(m.keyPos(given[1]), "load has two schedules (%s and %s): give exactly one of %s", given[0], given[1], strings.Join(scheduleKeys, ", "))
		return
	}
	v := m.get(given[0])
	sc := &l.Schedule
	switch given[0] {
	case "rate":
		sc.Kind = loadgen.ScheduleOpen
		sc.Rate, _ = p.rate(v, "rate")
	case "concurrency":
		sc.Kind = loadgen.ScheduleClosed
		sc.Concurrency, _ = p.integer(v, "concurrency", 1, math.MaxInt32)
	case "hold":
		// hold: N opens N connections at once; hold: {conns: N, ramp:
		// R/s} opens them at rate R.
		sc.Kind = loadgen.ScheduleHold
		if d := deref(v); d == nil || d.Kind != yaml.MappingNode {
			sc.Hold, _ = p.integer(v, "hold", 0, math.MaxInt32)
		} else if hm := p.mapping(v, "hold", holdKeys); hm != nil {
			if c := hm.get("conns"); c == nil {
				p.errs.add(posOf(hm.node), "hold has no conns: say how many connections to hold, e.g. hold: {conns: 66000, ramp: 5000/s}")
			} else {
				sc.Hold, _ = p.integer(c, "hold.conns", 0, math.MaxInt32)
			}
			if r := hm.get("ramp"); r != nil {
				sc.HoldRamp, _ = p.rate(r, "hold.ramp")
			}
		}
	case "ramp":
		sc.Kind = loadgen.ScheduleRamp
		if rm := p.mapping(v, "ramp", rampKeys); rm != nil {
			sc.From = p.requiredRate(rm, "from", "ramp")
			sc.To = p.requiredRate(rm, "to", "ramp")
		}
	case "spike":
		sc.Kind = loadgen.ScheduleSpike
		if sm := p.mapping(v, "spike", spikeKeys); sm != nil {
			sc.Rate = p.requiredRate(sm, "rate", "spike")
			sc.SpikeRate = p.requiredRate(sm, "to", "spike")
			if a := sm.get("at"); a == nil {
				p.errs.add(posOf(sm.node), "spike has no at: say when the spike starts, e.g. at: 5s")
			} else {
				sc.SpikeAt, _ = p.duration(a, "spike.at")
			}
			if f := sm.get("for"); f == nil {
				p.errs.add(posOf(sm.node), "spike has no for: say how long it lasts, e.g. for: 3s")
			} else {
				sc.SpikeFor, _ = p.positiveDuration(f, "spike.for")
			}
		}
	}
}

func (p *parser) requiredRate(m *mapping, key, what string) loadgen.Rate {
	v := m.get(key)
	if v == nil {
		p.errs.add(posOf(m.node), "%s has no %s: give a rate such as %s: 100/s", what, key, key)
		return loadgen.Rate{}
	}
	r, _ := p.rate(v, what+"."+key)
	return r
}

// planKeys maps the loadgen.Plan fields whose load key has another name;
// a field not listed is written as the last part of its path
// ("strategy.pool" is pool:, "phases[0].schedule.hold" is hold:).
var planKeys = map[string]string{
	"strategy.kind":       "strategy",
	"schedule.from":       "ramp.from",
	"schedule.to":         "ramp.to",
	"schedule.spike_rate": "spike.to",
	"schedule.spike_at":   "spike",
	"schedule.spike_for":  "spike",
	"schedule.kind":       "",
	"schedule.hold_ramp":  "hold.ramp",
}

// loadKey is the load key (a dotted path inside the load mapping) that
// a loadgen.Plan field path stands for; "" is the load itself. spike says
// the load's schedule is a spike, whose base rate is spike.rate.
func loadKey(path string, spike bool) string {
	steps := field.Steps(path)
	if len(steps) >= 2 && steps[0].Key == "phases" && steps[1].Index >= 0 {
		// A load belongs to one phase: the phase index says nothing.
		steps = steps[2:]
	}
	var parts []string
	for _, st := range steps {
		if st.Index >= 0 && len(parts) > 0 {
			parts[len(parts)-1] += fmt.Sprintf("[%d]", st.Index)
			continue
		}
		parts = append(parts, st.Key)
	}
	rel := strings.Join(parts, ".")
	if k, ok := planKeys[rel]; ok {
		return k
	}
	if rel == "schedule.rate" && spike {
		return "spike.rate"
	}
	if len(parts) == 0 {
		return ""
	}
	return parts[len(parts)-1]
}

// planErrors reports loadgen's validation errors at the load key they name.
func (p *parser) planErrors(err error, m *mapping) {
	fields, other := field.List(err)
	for _, fe := range fields {
		key := loadKey(fe.Path, m.get("spike") != nil)
		if key == "" {
			p.errs.add(posOf(m.node), "load: %s", fe.Error())
			continue
		}
		p.errs.add(keyPosIn(m, key), "load.%s: %s", key, fe.Msg)
	}
	for _, e := range other {
		p.errs.add(posOf(m.node), "load: %v", e)
	}
}

// keyPosIn returns the position of a dotted key path inside m: of the
// deepest key of the path that was written, or of m.
func keyPosIn(m *mapping, path string) Pos {
	pos := posOf(m.node)
	n := m.node
	for _, part := range strings.Split(path, ".") {
		n = deref(n)
		if n == nil || n.Kind != yaml.MappingNode {
			return pos
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := deref(n.Content[i]); k != nil && k.Value == part {
				pos, next = posOf(k), n.Content[i+1]
				break
			}
		}
		if next == nil {
			return pos
		}
		n = next
	}
	return pos
}

func hasClient(spec *testbed.Spec, name string) bool {
	return slices.Contains(clientNames(spec), name)
}

func clientNames(spec *testbed.Spec) []string {
	var out []string
	for _, c := range spec.Clients {
		out = append(out, c.Name)
	}
	return out
}

func backendNames(spec *testbed.Spec) []string {
	var out []string
	for _, b := range spec.Backends {
		out = append(out, b.Name)
	}
	return out
}
