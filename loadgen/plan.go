package loadgen

import (
	"net/netip"
	"time"
)

// Strategy kinds.
const (
	KindTCP   = "tcp"   // echo: write Payload bytes, read them back
	KindHTTP1 = "http1" // HTTP/1.1 GET (POST with a body when Payload > 0)
	KindH2C   = "h2c"   // HTTP/2 over cleartext, multiplexed over PoolSize connections
	KindUDP   = "udp"   // echo datagrams
	// KindHolepunch registers with a UDP rendezvous service: Redundancy
	// holepunch requests per registration, each probed back through the
	// client's NAT mapping (see internal/holepunch).
	KindHolepunch = "holepunch"
)

// Pool modes.
const (
	// PoolNone dials a new connection (a new UDP socket, so a new source
	// port) per attempt and closes it afterwards, client first.
	PoolNone = "none"
	// PoolKeepAlive reuses at most PoolSize long-lived connections (UDP:
	// PoolSize sockets, 1 = one socket for everything).
	PoolKeepAlive = "keepalive"
)

// Pool scopes: what one keep-alive pool of PoolSize connections serves.
const (
	// PoolPerLoad is one pool for the whole load, shared by every source
	// address (the default).
	PoolPerLoad = "load"
	// PoolPerSource is one pool per source address, as that many servers
	// each with its own keep-alive pool have: a load of N sources holds up
	// to N x PoolSize connections, PoolSize from each address.
	PoolPerSource = "source"
)

// Source picks.
const (
	PickRoundRobin = "round-robin"
	PickRandom     = "random"
)

// Schedule kinds.
const (
	ScheduleClosed = "closed" // Concurrency workers, each sending back to back
	ScheduleOpen   = "open"   // arrivals at Rate, whatever the answers do
	ScheduleRamp   = "ramp"   // arrival rate moving linearly From -> To over the phase
	ScheduleSpike  = "spike"  // Rate, but SpikeRate during [SpikeAt, SpikeAt+SpikeFor)
	ScheduleHold   = "hold"   // open Hold connections and keep them for the phase
)

// Defaults applied by Run (and by Plan.WithDefaults) to zero fields.
const (
	DefaultTick           = time.Second
	MinTick               = 100 * time.Millisecond
	DefaultConnectTimeout = 3 * time.Second
	DefaultRequestTimeout = 5 * time.Second
	DefaultMaxInFlight    = 4096
	DefaultPoolSize       = 1
	DefaultPayload        = 32
	DefaultPath           = "/"
	// MaxRedundancy bounds Strategy.Redundancy.
	MaxRedundancy = 64
)

// Plan is everything a run needs; it is JSON-serialisable so a runner can
// hand it to an agent process.
type Plan struct {
	// Target is host:port, e.g. "198.19.0.100:8080".
	Target string `json:"target"`
	// Sources are local addresses to bind; empty lets the kernel choose.
	Sources []netip.Addr `json:"sources,omitempty"`
	// SourcePick is PickRoundRobin (default) or PickRandom, per connection.
	SourcePick string `json:"source_pick,omitempty"`
	// Strategy says how requests are made.
	Strategy Strategy `json:"strategy"`
	// Phases run one after another.
	Phases []Phase `json:"phases"`
	// Tick is the sampling interval (default 1 s, at least 100 ms).
	Tick time.Duration `json:"tick,omitempty"`
	// ConnectTimeout bounds a handshake (default 3 s: SYN retries come at
	// 1 s and 3 s on Linux, so 3 s sees one retry).
	ConnectTimeout time.Duration `json:"connect_timeout,omitempty"`
	// SYNTimeout, when set (tcp only), has the kernel give up a handshake
	// this long after its first SYN (TCP_USER_TIMEOUT), so how many SYNs a
	// failed connect sends is up to the kernel's timers alone (SYNs at 0,
	// 1, 2 s ... with tcp_syn_linear_timeouts; the one at 1 s is always
	// sent), not to when a loaded process gets to close the socket. The
	// connect then ends as connect_timeout; ConnectTimeout stays the
	// dialer's bound and must be longer. It does not outlive the handshake:
	// an established connection has no user timeout.
	SYNTimeout time.Duration `json:"syn_timeout,omitempty"`
	// RequestTimeout bounds the exchange once connected, and a wait for a
	// pooled connection (default 5 s).
	RequestTimeout time.Duration `json:"request_timeout,omitempty"`
	// MaxInFlight bounds outstanding attempts of open, ramp and spike
	// schedules and concurrent dials of hold schedules (default 4096);
	// arrivals beyond it end as OutcomeDropped.
	MaxInFlight int `json:"max_in_flight,omitempty"`
}

// Strategy says how each attempt talks to the target.
type Strategy struct {
	// Kind is KindTCP, KindHTTP1, KindH2C, KindUDP or KindHolepunch.
	Kind string `json:"kind"`
	// Pool is PoolNone (default) or PoolKeepAlive; h2c always pools.
	Pool string `json:"pool,omitempty"`
	// PoolSize is the most connections a pool opens (default 1).
	PoolSize int `json:"pool_size,omitempty"`
	// PoolPer is PoolPerLoad (default) or PoolPerSource: whether one pool
	// serves the load or each source address has its own (no effect
	// without a keep-alive pool).
	PoolPer string `json:"pool_per,omitempty"`
	// IdleTimeout closes pooled connections idle this long (0 = never).
	IdleTimeout time.Duration `json:"idle_timeout,omitempty"`
	// MaxConnAge retires pooled connections this old (0 = never).
	MaxConnAge time.Duration `json:"max_conn_age,omitempty"`
	// MaxRequestsPerConn retires a pooled connection after this many
	// requests (0 = unlimited).
	MaxRequestsPerConn int `json:"max_requests_per_conn,omitempty"`
	// Path is the HTTP request path (default "/").
	Path string `json:"path,omitempty"`
	// Payload is the number of bytes sent per request: echoed for tcp and
	// udp (default 32, udp at least 8), a POST body for HTTP (0 = GET).
	Payload int `json:"payload,omitempty"`
	// Linger0 sets SO_LINGER 0: close sends RST and leaves no TIME_WAIT.
	Linger0 bool `json:"linger0,omitempty"`
	// LocalPorts restricts the ephemeral source ports, "40000-40003", with
	// IP_LOCAL_PORT_RANGE (Linux >= 6.3); empty = the system range.
	LocalPorts string `json:"local_ports,omitempty"`
	// Redundancy is how many holepunch requests a registration sends
	// (holepunch only; default 1): each makes the service look the
	// client up and probe it again.
	Redundancy int `json:"redundancy,omitempty"`
}

// Phase is a named stretch of the run driven by one schedule.
type Phase struct {
	Name     string        `json:"name"`
	Duration time.Duration `json:"duration"`
	Schedule Schedule      `json:"schedule"`
}

// Schedule says when attempts start. Only the fields of its Kind are used.
type Schedule struct {
	// Kind is ScheduleClosed, ScheduleOpen, ScheduleRamp, ScheduleSpike or ScheduleHold.
	Kind string `json:"kind"`
	// Concurrency is the number of closed-loop workers (0 = idle phase,
	// which Split may produce).
	Concurrency int `json:"concurrency,omitempty"`
	// Rate is the arrival rate of open schedules and the base rate of spikes.
	Rate Rate `json:"rate,omitzero"`
	// From and To are the rates at the start and the end of a ramp.
	From Rate `json:"from,omitzero"`
	To   Rate `json:"to,omitzero"`
	// SpikeRate applies from SpikeAt (since the phase start) for SpikeFor.
	SpikeRate Rate          `json:"spike_rate,omitzero"`
	SpikeAt   time.Duration `json:"spike_at,omitempty"`
	SpikeFor  time.Duration `json:"spike_for,omitempty"`
	// Hold is the number of connections a hold schedule keeps open.
	Hold int `json:"hold,omitempty"`
	// HoldRamp is the rate at which a hold opens its connections (the
	// i-th dial starts at i/HoldRamp into the phase); zero opens them all
	// at once, at most MaxInFlight dials at a time.
	HoldRamp Rate `json:"hold_ramp,omitzero"`
}

// WithDefaults returns a copy of the plan with zero fields set to their defaults.
func (p Plan) WithDefaults() Plan {
	if p.SourcePick == "" {
		p.SourcePick = PickRoundRobin
	}
	if p.Tick == 0 {
		p.Tick = DefaultTick
	}
	if p.ConnectTimeout == 0 {
		p.ConnectTimeout = DefaultConnectTimeout
	}
	if p.RequestTimeout == 0 {
		p.RequestTimeout = DefaultRequestTimeout
	}
	if p.MaxInFlight == 0 {
		p.MaxInFlight = DefaultMaxInFlight
	}
	s := &p.Strategy
	if s.Pool == "" {
		s.Pool = PoolNone
		if s.Kind == KindH2C {
			s.Pool = PoolKeepAlive
		}
	}
	if s.PoolSize == 0 {
		s.PoolSize = DefaultPoolSize
	}
	if s.PoolPer == "" {
		s.PoolPer = PoolPerLoad
	}
	if s.Path == "" {
		s.Path = DefaultPath
	}
	if s.Payload == 0 && (s.Kind == KindTCP || s.Kind == KindUDP) {
		s.Payload = DefaultPayload
	}
	if s.Redundancy == 0 && s.Kind == KindHolepunch {
		s.Redundancy = 1
	}
	p.Phases = append([]Phase(nil), p.Phases...)
	return p
}

// Duration is the sum of the phase durations.
func (p Plan) Duration() time.Duration {
	var d time.Duration
	for _, ph := range p.Phases {
		d += ph.Duration
	}
	return d
}
