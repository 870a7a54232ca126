package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/internal/field"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natcfg"
)

// natSetting is one setting a nat-config fault may change, named as the
// testbed's nat block names it for the profile.
type natSetting struct {
	Param
	profile string
	// set writes the value into the candidate NAT spec.
	set func(n *testbed.NATSpec, v any)
}

// gcp reaches the candidate's gcp-cloud-nat settings.
func gcp(n *testbed.NATSpec) *testbed.GCPCloudNAT {
	if n.GCP == nil {
		n.GCP = &testbed.GCPCloudNAT{}
	}
	return n.GCP
}

// natSettings are the settings of a candidate config, applied in this
// order (a switch before the values whose defaults it decides). A
// gcp-cloud-nat setting the testbed gains is one more line here.
var natSettings = []natSetting{
	{Param{Name: "ips", Type: "int", Doc: "linux: use the first N of the NAT's IPs (1 to the number the testbed gave it); the connections of an IP left out lose their return traffic"},
		testbed.ProfileLinux, func(n *testbed.NATSpec, v any) { n.IPs = v.(int) }},
	{Param{Name: "nat_ips", Type: "int", Doc: "gcp-cloud-nat: use the first N of the NAT's IPs (1 to the number the testbed gave it); the connections of an IP left out lose their return traffic"},
		testbed.ProfileGCPCloudNAT, func(n *testbed.NATSpec, v any) { n.IPs = v.(int) }},
	{Param{Name: "enable_dynamic_port_allocation", Type: "bool", Doc: "gcp-cloud-nat: turn dynamic port allocation on or off; every VM restarts at the minimum, in the new layout, and its connections on ports outside its new block are reset"},
		testbed.ProfileGCPCloudNAT, func(n *testbed.NATSpec, v any) {
			g := gcp(n)
			if g.EnableDynamicPortAllocation != v.(bool) {
				// The maximum's default depends on the switch.
				g.MaxPortsPerVM = 0
			}
			g.EnableDynamicPortAllocation = v.(bool)
		}},
	{Param{Name: "enable_endpoint_independent_mapping", Type: "bool", Doc: "gcp-cloud-nat: turn endpoint-independent mapping on or off (not with dynamic port allocation); the blocks stay in place, so no connection loses its port"},
		testbed.ProfileGCPCloudNAT, func(n *testbed.NATSpec, v any) { gcp(n).EnableEndpointIndependentMapping = v.(bool) }},
	{Param{Name: "min_ports_per_vm", Type: "int", Doc: "gcp-cloud-nat: the new minimum; the connections of a VM on ports beyond its new block are reset"},
		testbed.ProfileGCPCloudNAT, func(n *testbed.NATSpec, v any) { gcp(n).MinPortsPerVM = v.(int) }},
	{Param{Name: "max_ports_per_vm", Type: "int", Doc: "gcp-cloud-nat: the new maximum (with enable_dynamic_port_allocation)"},
		testbed.ProfileGCPCloudNAT, func(n *testbed.NATSpec, v any) { gcp(n).MaxPortsPerVM = v.(int) }},
}

func natConfigParams() []Param {
	out := make([]Param, len(natSettings))
	for i, s := range natSettings {
		out[i] = s.Param
	}
	return out
}

var natConfigKind = Kind{
	Name: "nat-config",
	Summary: "apply a candidate NAT config live (the settings of testbed.nat for the NAT's profile); the effects on live connections follow from the profile's rules, " +
		"predicted by the NAT agent from conntrack before the change and counted after it (reports predicted_resets, predicted_dropped, observed_resets, observed_dropped; " +
		"the rules are in docs/nat-profiles.md, \"Live config changes\"); revert applies the original config",
	Params: natConfigParams(),
	Roles:  []testbed.Role{testbed.RoleNAT},
	New:    newNATConfig,
}

func newNATConfig(t Target, params map[string]any) (Fault, error) {
	r := newReader(params, natConfigParams())
	f := &natConfigFault{host: t.Host, values: map[string]any{}}
	profile := ""
	if t.Spec != nil {
		for _, n := range t.Spec.NATs {
			if n.Name == t.Host {
				profile = n.Profile
			}
		}
	}
	if profile == "" && t.Spec != nil && t.Role == testbed.RoleNAT {
		profile = testbed.ProfileLinux
	}
	for _, s := range natSettings {
		if !r.has(s.Name) {
			continue
		}
		var v any
		var ok bool
		switch s.Type {
		case "bool":
			v, ok = r.boolean(s.Name)
		default:
			v, ok = r.integer(s.Name, 1, 1<<16)
		}
		if !ok {
			continue
		}
		if profile != "" && profile != s.profile {
			var fit []string
			for _, o := range natSettings {
				if o.profile == profile {
					fit = append(fit, o.Name)
				}
			}
			its := "its settings are " + strings.Join(fit, ", ")
			if len(fit) == 0 {
				its = "nat-config has no settings of that profile yet"
			}
			r.errs = append(r.errs, &field.Error{Path: s.Name, Valid: fit,
				Msg: fmt.Sprintf("%s is a setting of profile %s, and %s is %s: %s", s.Name, s.profile, t.Host, profile, its)})
			continue
		}
		f.values[s.Name] = v
		f.order = append(f.order, s.Name)
	}
	if len(params) == 0 {
		r.bad("", "no change given, set at least one of: %s", strings.Join(paramNames(natConfigParams()), ", "))
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	// The candidate is judged before anything runs: the address plan has
	// the same shape in every slot.
	if l, ok := t.layout(); ok {
		if _, err := f.candidate(t.Spec, l); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// natConfigFault applies a candidate config through the NAT agent's live
// change (wire.OpNATChange), which predicts and enforces the effects on
// live connections; revert changes back to the config recorded at inject.
type natConfigFault struct {
	host   string
	values map[string]any
	order  []string

	before   natcfg.Config // the config in force at inject
	result   natcfg.ChangeResult
	observed *natcfg.ChangeObserved
	back     *natcfg.ChangeResult // the revert's own change
	injected bool
}

// Touches: the NAT's config, which snat re-applies too.
func (f *natConfigFault) Touches() []string { return []string{"snat"} }

// candidate is the changed config of the fault's NAT in spec s, l; its
// problems are field errors of the parameter they come from.
func (f *natConfigFault) candidate(s *testbed.Spec, l *testbed.Layout) (natcfg.Config, error) {
	var cand testbed.NATSpec
	found := false
	for _, n := range s.NATs {
		if n.Name == f.host {
			cand, found = n, true
		}
	}
	if !found {
		return natcfg.Config{}, fmt.Errorf("nat-config: unknown NAT %q", f.host)
	}
	if cand.GCP != nil {
		g := *cand.GCP
		cand.GCP = &g
	}
	for _, s := range natSettings {
		if v, ok := f.values[s.Name]; ok {
			s.set(&cand, v)
		}
	}
	cfg, err := testbed.CandidateNATConfig(s, l, cand)
	if err != nil && cand.Profile == testbed.ProfileGCPCloudNAT {
		// The count is nat_ips in a gcp-cloud-nat block.
		fields, other := field.List(err)
		var out []error
		for _, e := range fields {
			c := *e
			if c.Path == "ips" {
				c.Path = "nat_ips"
				c.Msg = strings.ReplaceAll(c.Msg, "more ips", "more nat_ips")
			}
			out = append(out, &c)
		}
		err = joinErrors(append(out, other...))
	}
	return cfg, err
}

func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

func (f *natConfigFault) Describe() string {
	parts := make([]string, 0, len(f.order))
	for _, k := range f.order {
		parts = append(parts, fmt.Sprintf("%s %v", k, f.values[k]))
	}
	s := fmt.Sprintf("change NAT config on %s: %s", f.host, strings.Join(parts, ", "))
	switch {
	case f.observed != nil:
		s += fmt.Sprintf(" (predicted %d resets, %d dropped; observed %d resets, %d dropped)",
			f.result.PredictedResets, f.result.PredictedDropped, f.observed.Resets, f.observed.Dropped)
	case f.injected || f.back != nil:
		s += fmt.Sprintf(" (predicted %d resets, %d dropped)", f.result.PredictedResets, f.result.PredictedDropped)
	}
	return s
}

// Report gives the prediction and what the change removed after the
// inject, and what was observed once the revert has read it.
func (f *natConfigFault) Report() map[string]any {
	if !f.injected && f.back == nil {
		return nil
	}
	m := map[string]any{
		"predicted_resets":   f.result.PredictedResets,
		"predicted_dropped":  f.result.PredictedDropped,
		"predicted_remapped": f.result.PredictedRemapped,
		"removed":            f.result.Removed,
	}
	if o := f.observed; o != nil {
		m["observed_resets"] = o.Resets
		m["observed_dropped"] = o.Dropped
	}
	if b := f.back; b != nil {
		m["revert_predicted_resets"] = b.PredictedResets
		m["revert_predicted_dropped"] = b.PredictedDropped
	}
	return m
}

// Result is the NAT agent's prediction and what the inject deleted.
func (f *natConfigFault) Result() natcfg.ChangeResult { return f.result }

// Observe reads what the kernel has done of the change so far.
func (f *natConfigFault) Observe(ctx context.Context, env Env) (natcfg.ChangeObserved, error) {
	var o natcfg.ChangeObserved
	if err := call(ctx, env, f.host, wire.OpNATObserved, nil, &o); err != nil {
		return o, fmt.Errorf("read the change's effects on %s: %w", f.host, err)
	}
	return o, nil
}

func (f *natConfigFault) Inject(ctx context.Context, env Env) error {
	if _, err := needRole(env, "nat-config", f.host, testbed.RoleNAT); err != nil {
		return err
	}
	cfg, err := f.candidate(env.Spec(), env.Layout())
	if err != nil {
		return err
	}
	if err := call(ctx, env, f.host, wire.OpNATConfig, nil, &f.before); err != nil {
		return fmt.Errorf("record nat config on %s: %w", f.host, err)
	}
	f.injected = true
	f.observed, f.back = nil, nil
	if err := call(ctx, env, f.host, wire.OpNATChange, cfg, &f.result); err != nil {
		return fmt.Errorf("apply candidate nat config on %s: %w", f.host, err)
	}
	return nil
}

func (f *natConfigFault) Revert(ctx context.Context, env Env) error {
	if !f.injected {
		return nil
	}
	// What the change did is read before the change back replaces its
	// sets; a failed reading does not keep the original config away.
	o, obsErr := f.Observe(ctx, env)
	if obsErr == nil {
		f.observed = &o
	}
	var back natcfg.ChangeResult
	if err := call(ctx, env, f.host, wire.OpNATChange, f.before, &back); err != nil {
		return errors.Join(obsErr, fmt.Errorf("re-apply nat config on %s: %w", f.host, err))
	}
	f.back = &back
	f.injected = false
	return obsErr
}

func (f *natConfigFault) Verify(ctx context.Context, env Env) error {
	if f.back == nil {
		return nil // never reverted: nothing to compare yet
	}
	var now natcfg.Config
	if err := call(ctx, env, f.host, wire.OpNATConfig, nil, &now); err != nil {
		return fmt.Errorf("verify nat config on %s: %w", f.host, err)
	}
	a, _ := json.MarshalIndent(f.before, "", " ")
	b, _ := json.MarshalIndent(now, "", " ")
	if string(a) != string(b) {
		return fmt.Errorf("verify: nat config on %s differs from before the inject: %s", f.host, firstDiff(string(a), string(b)))
	}
	return nil
}
