package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/natlab/natlab/scenario"
	"github.com/natlab/natlab/scenario/runner"

	"github.com/natlab/natlab/testbed/natcfg"
)

// loadNATSysctls reads the --nat-sysctls candidates: each FILE (for every
// NAT box) or NAT=FILE (for that NAT box only) is a sysctl.conf file
// whose every key must be one the NAT box can set, with a value of the
// shape the key takes. Problems are bad input (exit 2), reported as
// FILE:LINE: message. Which NAT names exist is checked against the
// scenario (checkCandidates).
func loadNATSysctls(args []string) ([]runner.Candidate, error) {
	var out []runner.Candidate
	var errs []error
	for _, arg := range args {
		nat, file := "", arg
		if n, f, ok := strings.Cut(arg, "="); ok && natName.MatchString(n) {
			if _, err := os.Stat(arg); err != nil { // a file named a=b.conf is a file
				nat, file = n, f
			}
		}
		if file == "" {
			errs = append(errs, fmt.Errorf("--nat-sysctls %q: want FILE or NAT=FILE", arg))
			continue
		}
		sc, err := loadSysctlFile(file)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, runner.Candidate{NAT: nat, File: file, Sysctls: sc})
	}
	if len(errs) > 0 {
		return nil, inputErr(errors.Join(errs...))
	}
	return out, nil
}

// natName is what may stand before = in NAT=FILE: a host name.
var natName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,23}$`)

// checkCandidates refuses a candidate for a NAT the scenario does not have.
func checkCandidates(sc *scenario.Scenario, cands []runner.Candidate) error {
	var names []string
	for _, n := range sc.Testbed.NATs {
		names = append(names, n.Name)
	}
	var errs []error
	for _, c := range cands {
		if c.NAT != "" && !slices.Contains(names, c.NAT) {
			errs = append(errs, fmt.Errorf("--nat-sysctls %s=%s: scenario %s has no NAT %q: its NATs are %s (or give FILE alone for every NAT)",
				c.NAT, c.File, sc.Name, c.NAT, strings.Join(names, ", ")))
		}
	}
	if len(errs) > 0 {
		return inputErr(errors.Join(errs...))
	}
	return nil
}

// loadSysctlFile reads and checks one candidate file.
func loadSysctlFile(file string) ([]natcfg.Sysctl, error) {
	fh, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("--nat-sysctls: %w", err)
	}
	defer fh.Close()
	candidate, err := natcfg.ParseSysctlConf(fh, file)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, s := range candidate {
		err := natcfg.ValidateSysctlKey(s.Key)
		if err == nil {
			err = natcfg.ValidateSysctlValue(s.Key, s.Value)
		}
		// A "-key = value" line may fail, as in sysctl.conf.
		if err != nil && !s.IgnoreError {
			errs = append(errs, fmt.Errorf("%s:%d: %w", file, s.Line, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return candidate, nil
}
