package runner

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/natlab/natlab/reports"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natcfg"
)

// Candidate is a candidate sysctl.conf under test (a CI gate): applied to
// NAT box NAT, or to every NAT box when NAT is "".
type Candidate struct {
	NAT     string
	File    string
	Sysctls []natcfg.Sysctl
}

// checkCandidateNATs refuses a candidate for a NAT the testbed lacks.
func checkCandidateNATs(spec testbed.Spec, cands []Candidate) error {
	var names []string
	for _, n := range spec.NATs {
		names = append(names, n.Name)
	}
	for _, c := range cands {
		if c.NAT != "" && !slices.Contains(names, c.NAT) {
			return fmt.Errorf("candidate %s for nat %q: the testbed's NATs are %s", c.File, c.NAT, strings.Join(names, ", "))
		}
	}
	return nil
}

// candidateReports say, per NAT box, which candidate keys it got, and how
// long its forwarding was off (the sampler's reading): a gate that fails
// so names the NAT and the key.
func (r *run) candidateReports(offFor func(nat string) time.Duration) []reports.Candidate {
	var out []reports.Candidate
	for _, n := range r.tb.Run.Spec.NATs {
		for _, c := range r.opts.Candidates {
			if c.NAT != "" && c.NAT != n.Name {
				continue
			}
			rc := reports.Candidate{NAT: n.Name, File: c.File, IPForwardOff: reports.Seconds(offFor(n.Name))}
			for _, s := range c.Sysctls {
				rc.Sysctls = append(rc.Sysctls, fmt.Sprintf("%s = %s (%s:%d)", s.Key, s.Value, c.File, s.Line))
				if s.Key == "net.ipv4.ip_forward" && strings.TrimSpace(s.Value) == "0" {
					rc.Breaks = append(rc.Breaks, fmt.Sprintf("%s:%d sets net.ipv4.ip_forward = 0 on %s: the NAT box forwards nothing", c.File, s.Line, n.Name))
				}
			}
			out = append(out, rc)
		}
	}
	return out
}
