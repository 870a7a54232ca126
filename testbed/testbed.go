package testbed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/testbed/service"
)

// ErrNotRoot is returned when the process lacks the privileges to build a
// testbed.
var ErrNotRoot = errors.New("natlab needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to create network namespaces: run it with sudo, or as root in CI")

// InputError marks a problem with what the user asked for (exit code 2),
// as opposed to a problem of the environment (exit code 3).
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Options tune Up.
type Options struct {
	// Log receives the agents' log lines; nil discards them.
	Log io.Writer
	// OnEvent receives events every agent sends (load samples).
	OnEvent func(wire.Event)
}

// Testbed is a running set of hosts with an agent in each.
type Testbed struct {
	Run     *Run
	backend Backend
	hosts   map[string]Host // fixed once Up returns
	onEvent func(wire.Event)

	// agentsMu guards agents: a restart fault replaces a host's agents
	// while the sampler and the runner call the current ones. A backend
	// host has one agent per server process (BackendSpec.Processes), the
	// first being the host's agent; other hosts have one.
	agentsMu sync.RWMutex
	agents   map[string][]*wire.Conn

	downOnce sync.Once
	downErr  error
}

// Up validates spec, claims a run, builds every host on backend, starts
// one agent per host and configures the NAT boxes and backends. On any
// failure it removes what it made before returning.
func Up(ctx context.Context, spec Spec, backend Backend, opts Options) (*Testbed, error) {
	spec.Normalize()
	if err := spec.Validate(); err != nil {
		return nil, &InputError{Err: err}
	}
	run, err := Claim(&spec, backend.Name(), isolated(backend), heldSlots(ctx, backend))
	if err != nil {
		return nil, err
	}
	if opts.Log != nil {
		run.Log = opts.Log
	}
	t := &Testbed{Run: run, backend: backend, hosts: map[string]Host{}, agents: map[string][]*wire.Conn{}, onEvent: opts.OnEvent}
	if err := t.up(ctx); err != nil {
		return nil, errors.Join(err, t.Down(context.WithoutCancel(ctx)))
	}
	return t, nil
}

func (t *Testbed) up(ctx context.Context) error {
	hosts, err := t.backend.Create(ctx, t.Run)
	for _, h := range hosts {
		t.hosts[h.Name()] = h
	}
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var errs []error
	for _, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conns, err := t.startAgents(ctx, h)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			t.setAgents(h.Name(), conns)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, n := range t.Run.Spec.NATs {
		if err := t.SetupNAT(ctx, n.Name); err != nil {
			return err
		}
	}
	for _, b := range t.Run.Spec.Backends {
		if err := t.startBackend(ctx, b); err != nil {
			return err
		}
	}
	return t.startApps(ctx)
}

// SetupNAT (re)applies the spec's sysctls and SNAT config to a NAT box,
// as after a restart of its agent.
func (t *Testbed) SetupNAT(ctx context.Context, name string) error {
	var spec NATSpec
	for _, n := range t.Run.Spec.NATs {
		if n.Name == name {
			spec = n
		}
	}
	cfg, err := NATConfig(t.Run.Spec, t.Run.Layout, name)
	if err != nil {
		return err
	}
	setup := wire.NATSetup{Sysctls: NATSysctls(spec), Config: cfg}
	if err := t.Agent(name).Call(ctx, wire.OpNATSetup, setup, nil); err != nil {
		return fmt.Errorf("set up nat %s: %w", name, err)
	}
	return nil
}

// ServerName is the name a backend's agent gives the server of listener
// l, "registrar:9000"; faults name servers so.
func ServerName(l BackendListener) string { return fmt.Sprintf("%s:%d", l.Protocol, l.Port) }

func (t *Testbed) startBackend(ctx context.Context, b BackendSpec) error {
	var specs []service.Spec
	for _, l := range append([]BackendListener{{Protocol: b.Protocol, Port: b.Port}}, b.Extra...) {
		sp := service.Spec{Name: ServerName(l), Protocol: l.Protocol, Addr: fmt.Sprintf("0.0.0.0:%d", l.Port),
			ReusePort: true, Backlog: b.EffectiveBacklog()}
		if l.Protocol.HasDependency() {
			sp.Dependency, sp.VerifyTimeout = b.Dependency, b.VerifyTimeout
		}
		specs = append(specs, sp)
	}
	for i, a := range t.Agents(b.Name) {
		if err := a.Call(ctx, wire.OpBackendStart, specs, nil); err != nil {
			return fmt.Errorf("start backend %s (process %d of %d): %w", b.Name, i+1, b.EffectiveProcesses(), err)
		}
	}
	return nil
}

// processes is how many agent processes host h runs.
func (t *Testbed) processes(h Host) int {
	if h.Role() == RoleBackend {
		for _, b := range t.Run.Spec.Backends {
			if b.Name == h.Name() {
				return b.EffectiveProcesses()
			}
		}
	}
	return 1
}

// startAgents starts every agent process of h.
func (t *Testbed) startAgents(ctx context.Context, h Host) ([]*wire.Conn, error) {
	n := t.processes(h)
	conns := make([]*wire.Conn, 0, n)
	for range n {
		conn, err := h.StartAgent(ctx, t.onEvent)
		if err != nil {
			return nil, err
		}
		conns = append(conns, conn)
	}
	return conns, nil
}

// BackendStats reads the counters of every server process of a backend
// host and merges them into one figure per server (service.Merge).
func (t *Testbed) BackendStats(ctx context.Context, name string) ([]service.Stats, error) {
	return BackendStatsOf(ctx, t.Agents(name))
}

// BackendWindowStats is BackendStats that also starts a new window for
// the dependency peak gauges: the next read reports the peaks since this
// one. The runner reads so at phase boundaries.
func (t *Testbed) BackendWindowStats(ctx context.Context, name string) ([]service.Stats, error) {
	return backendStatsOf(ctx, t.Agents(name), wire.BackendStatsArgs{ResetPeaks: true})
}

// BackendStatsOf reads and merges the servers' counters of every agent
// process of one backend host; it fails when any of them fails.
func BackendStatsOf(ctx context.Context, agents []*wire.Conn) ([]service.Stats, error) {
	return backendStatsOf(ctx, agents, nil)
}

func backendStatsOf(ctx context.Context, agents []*wire.Conn, args any) ([]service.Stats, error) {
	if len(agents) == 0 {
		return nil, errors.New("no agent")
	}
	per := make([][]service.Stats, len(agents))
	errs := make([]error, len(agents))
	var wg sync.WaitGroup
	for i, a := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = a.Call(ctx, wire.OpBackendStats, args, &per[i])
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return service.Merge(per...), nil
}

// Host returns the named host, or nil.
func (t *Testbed) Host(name string) Host { return t.hosts[name] }

// Agent returns the current (first) agent of the named host (a new one
// after a restart), or nil. It is safe to call while a restart runs.
func (t *Testbed) Agent(name string) *wire.Conn {
	t.agentsMu.RLock()
	defer t.agentsMu.RUnlock()
	if a := t.agents[name]; len(a) > 0 {
		return a[0]
	}
	return nil
}

// Agents returns every current agent process of the named host: one
// per server process of a backend, one for other hosts (the runner's
// extra load agents of a client are its own).
func (t *Testbed) Agents(name string) []*wire.Conn {
	t.agentsMu.RLock()
	defer t.agentsMu.RUnlock()
	return append([]*wire.Conn(nil), t.agents[name]...)
}

func (t *Testbed) setAgents(name string, conns []*wire.Conn) {
	t.agentsMu.Lock()
	defer t.agentsMu.Unlock()
	t.agents[name] = conns
}

// Restart starts fresh agents in a host whose agents were killed (as
// many as the host runs) and makes them the host's agents; NAT boxes and
// backends are set up again; an app host boots again (its config
// fetch first).
func (t *Testbed) Restart(ctx context.Context, name string) error {
	h := t.hosts[name]
	if h == nil {
		return fmt.Errorf("unknown host %q", name)
	}
	conns, err := t.startAgents(ctx, h)
	if err != nil {
		return err
	}
	t.setAgents(name, conns)
	switch h.Role() {
	case RoleNAT:
		return t.SetupNAT(ctx, name)
	case RoleBackend:
		for _, b := range t.Run.Spec.Backends {
			if b.Name == name {
				return t.startBackend(ctx, b)
			}
		}
	case RoleApp:
		// It boots as after a reboot: config first, through the NAT.
		return t.startApp(ctx, name)
	}
	return nil
}

// Down stops every agent, removes every host and forgets the run. It is
// safe to call more than once.
func (t *Testbed) Down(ctx context.Context) error {
	t.downOnce.Do(func() {
		err := t.backend.Destroy(ctx)
		if err == nil {
			err = t.Run.Release()
		}
		t.downErr = err
	})
	return t.downErr
}

// heldSlots are the address slots that resources on backend hold beyond
// what the registry records: docker's networks are global to the engine,
// so the runs of other users (recorded in their own state directories) and
// those of killed runs hold their subnets too. When the backend cannot be
// asked, Create will say why.
func heldSlots(ctx context.Context, backend Backend) []int {
	c, ok := backend.(Cleaner)
	if !ok {
		return nil
	}
	left, err := c.Leftovers(ctx)
	if err != nil {
		return nil
	}
	var slots []int
	for _, s := range left {
		if s.Slot >= 0 {
			slots = append(slots, s.Slot)
		}
	}
	return slots
}
