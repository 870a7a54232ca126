package main

import (
	"fmt"
	"os"

	"github.com/natlab/natlab/chaos"
	"github.com/natlab/natlab/fixtures"
	"github.com/natlab/natlab/scenario"
)

// loadScenario reads a scenario file, or an embedded fixture by name when
// no such file exists (a directory of that name does not count).
// Problems in the scenario are bad input (exit 2).
func loadScenario(arg string, sets []string) (*scenario.Scenario, error) {
	return loadScenarioNAT(arg, sets, nil)
}

// loadScenarioNAT is loadScenario with a NAT config candidate (nil for
// none) replacing the scenario's NAT settings.
func loadScenarioNAT(arg string, sets []string, nat *scenario.NATConfig) (*scenario.Scenario, error) {
	opts := scenario.Options{Faults: chaos.Catalog{}, Sets: sets, NATConfig: nat}
	var sc *scenario.Scenario
	var err error
	fi, statErr := os.Stat(arg)
	if statErr == nil && !fi.IsDir() {
		sc, err = scenario.Load(arg, opts)
	} else {
		// A directory is never a scenario: one named like a fixture (a
		// run directory written with --out NAME) leaves the fixture be.
		data, file, ferr := fixtures.Scenario(arg)
		switch {
		case ferr != nil && statErr == nil:
			return nil, inputErr(fmt.Errorf("%s is a directory, not a scenario file: give a scenario's YAML file or the name of a built-in fixture (natlab list)", arg))
		case ferr != nil:
			return nil, inputErr(fmt.Errorf("%s: no such file, and %w", arg, ferr))
		}
		opts.FS = fixtures.FS()
		sc, err = scenario.Parse(file, data, opts)
	}
	if err != nil {
		return nil, inputErr(err)
	}
	return sc, nil
}
