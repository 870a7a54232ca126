package chaos

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/internal/field"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natcfg"
)

// vmParams are the parameters of vm-start and vm-stop.
var vmParams = []Param{{Name: "client", Type: "string", Required: true,
	Doc: "the client host whose VMs start or stop (every address of the host, its link address included, is a VM); vm-start takes a host marked standby: true, vm-stop one that is not"}}

var vmStartKind = Kind{
	Name: kindVMStart,
	Summary: "start the VMs of a standby client host on a gcp-cloud-nat NAT (a scale-up or a deploy in its block): each VM asks the gateway for min_ports_per_vm ports and gets the first free block of its NAT IPs, " +
		"left over by the VMs of every block the gateway serves, or none: then it waits (nat_allocation_failed, its new connections dropped as OUT_OF_RESOURCES) " +
		"and takes the first block that frees up, in the order VMs started; reports allocated and waiting; revert stops them again",
	Params: vmParams,
	Roles:  []testbed.Role{testbed.RoleNAT},
	New:    newVMFault(true),
}

var vmStopKind = Kind{
	Name: kindVMStop,
	Summary: "stop the VMs of a client host on a gcp-cloud-nat NAT (a restart's first half, or a scale-down): their blocks are free at once, the first VMs waiting for ports take them, " +
		"and their conntrack entries go; revert starts them again, and they get a block only if one is free",
	Params: vmParams,
	Roles:  []testbed.Role{testbed.RoleNAT},
	New:    newVMFault(false),
}

// Names of the VM kinds.
const (
	kindVMStart = "vm-start"
	kindVMStop  = "vm-stop"
)

func newVMFault(start bool) func(Target, map[string]any) (Fault, error) {
	kind := kindVMStop
	if start {
		kind = kindVMStart
	}
	return func(t Target, params map[string]any) (Fault, error) {
		r := newReader(params, vmParams)
		r.require("client")
		client, _ := r.str("client")
		if err := r.done(); err != nil {
			return nil, err
		}
		f := &vmFault{kind: kind, host: t.Host, client: client, start: start}
		if t.Spec != nil && t.Role != "" {
			if err := f.check(t.Spec); err != nil {
				return nil, err
			}
		}
		return f, nil
	}
}

// vmFault starts (or stops) the VMs of one client host through the NAT
// agent (wire.OpNATVMs); revert does the opposite.
type vmFault struct {
	kind, host, client string
	start              bool

	vms      []netip.Addr
	result   natcfg.VMResult
	injected bool
}

// check says what is wrong with the fault in spec s: the client must be a
// host of a block behind this NAT, a gcp-cloud-nat one, and standby for
// vm-start, not for vm-stop.
func (f *vmFault) check(s *testbed.Spec) error {
	var names []string
	var host *testbed.ClientSpec
	for i, c := range s.Clients {
		if c.Role != "" {
			continue
		}
		names = append(names, c.Name)
		if c.Name == f.client {
			host = &s.Clients[i]
		}
	}
	if host == nil {
		return &field.Error{Path: "client", Valid: names, Msg: fmt.Sprintf("unknown client host %q: client hosts are %s", f.client, strings.Join(names, ", "))}
	}
	nat, found := s.NATOfBlock(host.Block)
	switch {
	case !found || nat.Name != f.host:
		return field.Errorf("client", "client host %s is in block %s, which does not go through %s: name a host behind it", f.client, host.Block, f.host)
	case nat.Profile != testbed.ProfileGCPCloudNAT:
		return field.Errorf("", "%s: %s runs profile %s; VMs get their ports when they start on profile %s only", f.kind, f.host, nat.ProfileName(), testbed.ProfileGCPCloudNAT)
	case f.start && !host.Standby:
		return field.Errorf("client", "client host %s is running from the start: vm-start starts a host marked standby: true (vm-stop stops a running one)", f.client)
	case !f.start && host.Standby:
		return field.Errorf("client", "client host %s is standby, its VMs have not started: vm-stop stops a running host (vm-start starts a standby one)", f.client)
	}
	return nil
}

// Touches: the VMs of the client host.
func (f *vmFault) Touches() []string { return []string{"vms " + f.client} }

func (f *vmFault) Describe() string {
	verb := "stop"
	if f.start {
		verb = "start"
	}
	s := fmt.Sprintf("%s the VMs of %s on %s", verb, f.client, f.host)
	if f.injected && f.start {
		s += fmt.Sprintf(" (%d got a block, %d wait for one)", len(f.result.Allocated), len(f.result.Waiting))
	}
	return s
}

// Report: how many VMs, and for a start how many got a block and how
// many wait.
func (f *vmFault) Report() map[string]any {
	if !f.injected {
		return nil
	}
	m := map[string]any{"vms": len(f.vms)}
	if f.start {
		m["allocated"] = len(f.result.Allocated)
		m["waiting"] = len(f.result.Waiting)
	} else {
		m["removed"] = f.result.Removed
	}
	return m
}

func (f *vmFault) change(ctx context.Context, env Env, start bool) (natcfg.VMResult, error) {
	ch := natcfg.VMChange{Stop: f.vms}
	if start {
		ch = natcfg.VMChange{Start: f.vms}
	}
	var res natcfg.VMResult
	err := call(ctx, env, f.host, wire.OpNATVMs, ch, &res)
	return res, err
}

func (f *vmFault) Inject(ctx context.Context, env Env) error {
	if _, err := needRole(env, f.kind, f.host, testbed.RoleNAT); err != nil {
		return err
	}
	if err := f.check(env.Spec()); err != nil {
		return fmt.Errorf("%s: %w", f.kind, err)
	}
	vms, ok := env.Layout().HostVMs(f.client)
	if !ok {
		return fmt.Errorf("%s: client host %q is not in the address plan", f.kind, f.client)
	}
	f.vms = vms
	res, err := f.change(ctx, env, f.start)
	f.injected = err == nil
	f.result = res
	if err != nil {
		return fmt.Errorf("%s %s on %s: %w", f.kind, f.client, f.host, err)
	}
	return nil
}

func (f *vmFault) Revert(ctx context.Context, env Env) error {
	if !f.injected {
		return nil
	}
	if _, err := f.change(ctx, env, !f.start); err != nil {
		return fmt.Errorf("revert %s %s on %s: %w", f.kind, f.client, f.host, err)
	}
	f.injected = false
	return nil
}

// Verify: after a vm-start's revert none of the host's VMs has a block
// or waits for one; after a vm-stop's, every one has a block or waits.
func (f *vmFault) Verify(ctx context.Context, env Env) error {
	if f.injected || len(f.vms) == 0 {
		return nil
	}
	var cfg natcfg.Config
	if err := call(ctx, env, f.host, wire.OpNATConfig, nil, &cfg); err != nil {
		return fmt.Errorf("verify the VMs of %s on %s: %w", f.client, f.host, err)
	}
	up := map[netip.Addr]bool{}
	if len(cfg.Pools) == 1 {
		for _, s := range cfg.Pools[0].Slices {
			up[s.Source] = true
		}
	}
	if cfg.GCP != nil {
		for _, vm := range cfg.GCP.Waiting {
			up[vm] = true
		}
	}
	for _, vm := range f.vms {
		if up[vm] == f.start {
			state := "stopped"
			if up[vm] {
				state = "running"
			}
			return fmt.Errorf("verify: VM %s of %s is %s on %s after the revert", vm, f.client, state, f.host)
		}
	}
	return nil
}
