package main

import (
	"fmt"
	"os"

	"github.com/natlab/natlab/testbed/natcfg"
)

// loadNATSysctls reads the --nat-sysctls candidate: a sysctl.conf file
// whose every key must be one the NAT box can set. Problems are bad input
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
	for _, s := range candidate {
		if err := natcfg.ValidateSysctlKey(s.Key); err != nil {
			return nil, inputErr(fmt.Errorf("%s:%d: %w", file, s.Line, err))
		}
	}
	return candidate, nil
}
