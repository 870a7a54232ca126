package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/natlab/natlab/testbed"
)

// Exit codes: the contract CI gates on.
const (
	ExitPass    = 0 // every assertion held
	ExitFail    = 1 // an assertion failed
	ExitInput   = 2 // bad input: scenario, flags, files
	ExitEnviron = 3 // testbed or environment error
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// inputErr marks err as bad input (exit 2).
func inputErr(err error) error { return &exitError{code: ExitInput, err: err} }

// exitCode maps an error to the exit-code contract.
func exitCode(err error) int {
	if err == nil {
		return ExitPass
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ie *testbed.InputError
	if errors.As(err, &ie) {
		return ExitInput
	}
	return ExitEnviron
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "natlab",
		Short: "Chaos and load-testing harness for egress NAT",
		Long: `natlab builds a real Linux NAT box with backends and client hosts (network
namespaces, or containers with --testbed docker), drives pooled and unpooled
connection storms through it, injects the faults of real NAT incidents,
measures what clients and the NAT saw, and passes or fails the run on
assertions.

Start with:
  natlab list                        the built-in incident scenarios
  natlab run nat-port-exhaustion     reproduce one (as root, or in the docker group)
  natlab faults                      what a scenario can inject
  natlab compare nat-port-exhaustion-pooled --vary 'phases[*].load.pool=none,keepalive'
                                     the same NAT and schedule, pooled and not

Exit codes:
  0  every assertion held
  1  an assertion failed, or the run was interrupted (report marked incomplete)
  2  bad input (scenario, flags, files)
  3  testbed or environment error (not root, kernel lacks a feature, ...)`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return inputErr(err) })
	root.AddCommand(newRunCmd(), newCompareCmd(), newReportCmd(), newValidateCmd(), newListCmd(), newFaultsCmd(), newUpCmd(), newDownCmd(), newCleanCmd(), newVersionCmd(), newAgentCmd())
	return root
}

// Execute runs the CLI with args and returns the process exit code.
func Execute(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err != nil {
		if err.Error() != "" {
			fmt.Fprintln(stderr, "natlab:", err)
		}
		if !isExit(err) && isUsage(err) {
			return ExitInput
		}
	}
	return exitCode(err)
}

func isExit(err error) bool {
	var ee *exitError
	return errors.As(err, &ee)
}

// isUsage recognises cobra's own argument errors (unknown command,
// wrong number of args), which are bad input.
func isUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires ", "unknown flag", "unknown shorthand"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
