package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/natlab/natlab/testbed/natcfg"
)

// loadNATSysctls reads the --nat-sysctls candidate: a sysctl.conf file
// whose every key must be one the NAT box can set, with a value of the
// shape the key takes. Problems are bad input
// (exit 2), reported as FILE:LINE: message.
func loadNATSysctls(file string) ([]natcfg.Sysctl, error) {
	if file == "" {
		return nil, nil
	}
	fh, err := os.Open(file)
	if err != nil {
		return nil, inputErr(fmt.Errorf("--nat-sysctls: %w", err))
	}
	defer fh.Close()
	candidate, err := natcfg.ParseSysctlConf(fh, file)
	if err != nil {
		return nil, inputErr(err)
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
		return nil, inputErr(errors.Join(errs...))
	}
	return candidate, nil
}
