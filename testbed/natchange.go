package testbed

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/natlab/natlab/internal/field"
	"github.com/natlab/natlab/testbed/natcfg"
)

// CandidateNATConfig is the config a live change to cand applies to the
// NAT box cand.Name of the running testbed s, l (the nat-config fault):
// cand is that NAT's spec with some settings changed, and is judged as
// the testbed would judge it, each problem a *field.Error whose path is
// the setting ("min_ports_per_vm", "ips"). A NAT keeps the IPs it has: a
// candidate may use its first cand.IPs of them, not more. A gcp-cloud-nat
// candidate lays its blocks out over the blocks of the NAT's own config
// (natcfg.GCPCarryOver): every VM restarts at the minimum, where it can
// on the ports it had.
func CandidateNATConfig(s *Spec, l *Layout, cand NATSpec) (natcfg.Config, error) {
	idx := -1
	for i, n := range s.NATs {
		if n.Name == cand.Name {
			idx = i
		}
	}
	nl, ok := l.NAT(cand.Name)
	if idx < 0 || !ok {
		return natcfg.Config{}, fmt.Errorf("unknown NAT %q", cand.Name)
	}
	if cand.IPs > len(nl.IPs) {
		return natcfg.Config{}, field.Errorf("ips", "%d NAT IPs is more than %s has (%d on %s): want at most %d, or give the NAT more ips in the testbed",
			cand.IPs, cand.Name, len(nl.IPs), WANInterface, len(nl.IPs))
	}
	// Normalize writes into every list of the spec it is given: the
	// candidate gets copies, so that the running spec (read meanwhile by
	// the runner, e.g. the apps by each phase's loads) is never written.
	c := *s
	c.NATs = append([]NATSpec(nil), s.NATs...)
	c.Clients = append([]ClientSpec(nil), s.Clients...)
	c.Blocks = append([]BlockSpec(nil), s.Blocks...)
	c.Backends = append([]BackendSpec(nil), s.Backends...)
	c.Apps = append([]AppSpec(nil), s.Apps...)
	if cand.GCP != nil {
		g := *cand.GCP
		cand.GCP = &g
	}
	c.NATs[idx] = cand
	c.Normalize()
	if err := c.Validate(); err != nil {
		return natcfg.Config{}, candidateErrors(fmt.Sprintf("nats[%d]", idx), err)
	}
	cand = c.NATs[idx]
	nl.IPs = nl.IPs[:cand.IPs]
	if cand.Profile != ProfileGCPCloudNAT {
		// NATConfig hands out the layout's IPs in order: the first ones.
		return NATConfig(&c, l, cand.Name)
	}
	cfg, err := gcpNATConfig(&cand, l, nl, cand.Name)
	if err != nil {
		return cfg, err
	}
	base, err := NATConfig(s, l, cand.Name)
	if err != nil {
		return cfg, err
	}
	pool := &cfg.Pools[0]
	vms := make([]netip.Addr, len(pool.Slices))
	for i, sl := range pool.Slices {
		vms[i] = sl.Source
	}
	_, slot, err := natcfg.GCPLayout(vms, nl.IPs, GCPPorts, cfg.GCP.MinPorts, cfg.GCP.MaxPorts)
	if err != nil {
		return cfg, fmt.Errorf("nat %s: %w", cand.Name, err)
	}
	var prev []natcfg.Slice
	if len(base.Pools) == 1 {
		prev = base.Pools[0].Slices
	}
	if pool.Slices, err = natcfg.GCPCarryOver(prev, vms, nl.IPs, GCPPorts, cfg.GCP.MinPorts, slot); err != nil {
		return cfg, fmt.Errorf("nat %s: %w", cand.Name, err)
	}
	return cfg, nil
}

// candidateErrors keeps the problems of the candidate NAT, with paths
// relative to it; a problem elsewhere cannot come from the candidate.
func candidateErrors(prefix string, err error) error {
	fields, other := field.List(err)
	var out []error
	for _, f := range fields {
		c := *f
		switch {
		case c.Path == prefix:
			c.Path = ""
		case strings.HasPrefix(c.Path, prefix+"."):
			c.Path = strings.TrimPrefix(c.Path, prefix+".")
		}
		out = append(out, &c)
	}
	out = append(out, other...)
	if len(out) == 1 {
		return out[0]
	}
	return errors.Join(out...)
}
