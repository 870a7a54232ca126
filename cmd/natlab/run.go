package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/natlab/natlab/scenario/runner"
	"github.com/natlab/natlab/testbed"
)

type runFlags struct {
	testbed    string
	out        string
	sets       []string
	natSysctls string
	junit      string
	logFile    string
	metrics    metricsFlags
}

func newRunCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run SCENARIO|FIXTURE",
		Short: "Build the testbed, play the scenario's load and faults, judge the assertions",
		Long: `run builds the scenario's testbed (a NAT box, client hosts and backends as
network namespaces, or containers with --testbed docker), plays its load phases and faults on one timeline,
samples what clients and the NAT saw, judges the assertions and writes a
run directory: report.json, samples.csv, report.md, report.html, junit.xml.

SCENARIO is a YAML file, or the name of a built-in fixture (natlab list).

Gate a NAT config change in CI with --nat-sysctls: the candidate
sysctl.conf is applied to every NAT box before load starts, and the run
fails when egress breaks.

Ctrl-C (SIGINT) or SIGTERM reverts the faults, tears the testbed down and
writes a report marked incomplete.

Exit codes: 0 every assertion held, 1 an assertion failed (or the run was
interrupted), 2 bad input, 3 testbed or environment error.`,
		Example: `  natlab run nat-port-exhaustion
  natlab run my-scenario.yaml --out out/ --set phases[1].duration=30s
  natlab run egress-baseline --nat-sysctls candidate.conf --junit junit.xml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScenario(cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.testbed, "testbed", "auto", "testbed backend: "+backendNames+" (auto: netns as root, else docker)")
	fl.StringVar(&f.out, "out", "", "run directory (default natlab-runs/NAME-TIME)")
	fl.StringArrayVar(&f.sets, "set", nil, "override a scenario value, PATH=VALUE (repeatable), e.g. testbed.nat.ports=1024-2047")
	fl.StringVar(&f.natSysctls, "nat-sysctls", "", "candidate sysctl.conf applied to every NAT box before load")
	fl.StringVar(&f.junit, "junit", "", "also write the JUnit XML report to this file")
	fl.StringVar(&f.logFile, "log", "", "write the agents' logs to this file (default: agents.log in the run directory)")
	f.metrics.register(fl)
	return cmd
}

func runScenario(cmd *cobra.Command, arg string, f runFlags) error {
	sc, err := loadScenario(arg, f.sets)
	if err != nil {
		return err
	}
	backend, err := newBackend(f.testbed)
	if err != nil {
		return err
	}
	candidate, err := loadNATSysctls(f.natSysctls)
	if err != nil {
		return err
	}
	watch, stopMetrics, err := f.metrics.start(cmd.OutOrStdout())
	if err != nil {
		return err
	}
	defer stopMetrics()
	out := f.out
	if out == "" {
		out = filepath.Join("natlab-runs", sc.Name+"-"+time.Now().Format("20060102-150405"))
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("create run directory: %w", err)
	}
	logPath := f.logFile
	if logPath == "" {
		logPath = filepath.Join(out, "agents.log")
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("create agent log: %w", err)
	}
	defer logf.Close()

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := runner.Run(ctx, sc, runner.Options{
		Backend:    backend,
		NATSysctls: candidate,
		Log:        logf,
		OutDir:     out,
		Progress:   runner.NewProgress(cmd.OutOrStdout()),
		Watch:      watch,
	})
	if err != nil {
		var ie *testbed.InputError
		if errors.As(err, &ie) {
			return inputErr(err)
		}
		return err
	}
	if f.junit != "" {
		if err := copyFile(filepath.Join(out, "junit.xml"), f.junit); err != nil {
			return err
		}
	}
	fmt.Fprintf(cmd.OutOrStdout(), "\n%s\nreports in %s\n", res.Summary(), out)
	switch {
	case res.Incomplete != "":
		return &exitError{code: ExitFail, err: fmt.Errorf("run incomplete: %s", res.Incomplete)}
	case !res.Passed:
		return &exitError{code: ExitFail, err: errSilent}
	}
	return nil
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return fmt.Errorf("copy %s: %w", from, err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", to, err)
	}
	return nil
}
