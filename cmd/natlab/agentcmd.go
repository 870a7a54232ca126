package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/natlab/natlab/agent"
)

// errSilent ends a command with an exit code and nothing more to print.
var errSilent = errors.New("")

// newAgentCmd documents the hidden agent command; main dispatches it before
// cobra so that agents start fast.
func newAgentCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "agent nat|backend|client --host NAME --run ID",
		Short:              "Run inside a testbed host and serve the runner's protocol on stdin/stdout",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			if code := agent.Main(args); code != 0 {
				return &exitError{code: code, err: errSilent}
			}
			return nil
		},
	}
}
