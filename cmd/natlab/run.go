package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/natlab/natlab/scenario/runner"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/netns"
)

type runFlags struct {
	testbed    string
	out        string
	sets       []string
	natSysctls []string
	natConfig  natConfigFlags
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
sysctl.conf is applied to every NAT box (FILE) or to one (NAT=FILE, as a
change rolled out one zone at a time; repeatable) before load starts, and
the run fails when egress breaks; the report names each NAT's candidate
keys and the line that broke forwarding. --nat-config FILE gates a
change of the NAT's settings the same way: FILE replaces the scenario's NAT profile settings
(profile, nat_ips, min_ports_per_vm, ...) and is a NAT block in natlab's
YAML, a Terraform file holding a google_compute_router_nat or
aws_nat_gateway resource (var.x resolved from its default, locals from
the file), or the JSON of terraform show -json PLAN; pick one of several
resources with --nat-config-resource ADDRESS. The report names each
setting it changes (before -> after); attributes natlab does not model are
listed as ignored, one it cannot resolve is bad input at FILE:LINE.

Ctrl-C (SIGINT) or SIGTERM stops the run: the loads stop, the faults are
reverted, a report marked incomplete is written (once the last phase has
ended the report is whole and stands) and the testbed is torn down; the
exit code is 1. A second Ctrl-C says what is still being cleaned up, a third
abandons the cleanup and says what it leaves for natlab clean.

Exit codes: 0 every assertion held, 1 an assertion failed (or the run was
interrupted), 2 bad input, 3 testbed or environment error.`,
		Example: `  natlab run nat-port-exhaustion
  natlab run my-scenario.yaml --out out/ --set phases[1].duration=30s
  natlab run egress-baseline --nat-sysctls candidate.conf --junit junit.xml
  natlab run cloud-nat.yaml --nat-config nat.tf --junit junit.xml
  natlab run zones-baseline --nat-sysctls nat-a=candidate.conf`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScenario(cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.testbed, "testbed", "auto", "testbed backend: "+backendNames+" (auto: netns as root, else docker)")
	fl.StringVar(&f.out, "out", "", "run directory (default natlab-runs/NAME-TIME)")
	fl.StringArrayVar(&f.sets, "set", nil, "override a scenario value, PATH=VALUE (repeatable), e.g. testbed.nat.ports=1024-2047")
	fl.StringArrayVar(&f.natSysctls, "nat-sysctls", nil, "candidate sysctl.conf applied before load: FILE to every NAT box, NAT=FILE to one (repeatable)")
	f.natConfig.register(fl)
	fl.StringVar(&f.junit, "junit", "", "also write the JUnit XML report to this file")
	fl.StringVar(&f.logFile, "log", "", "write the agents' logs to this file (default: agents.log in the run directory)")
	f.metrics.register(fl)
	return cmd
}

func runScenario(cmd *cobra.Command, arg string, f runFlags) error {
	// Interrupts are ours from the start, so a Ctrl-C at any point ends in
	// the same cleanup and exit code.
	progress := runner.NewProgress(cmd.OutOrStdout())
	ctx, intr := catchInterrupts(cmd.Context(), progress, cmd.ErrOrStderr())
	defer intr.stop()

	natConfig, err := f.natConfig.load(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	sc, err := loadScenarioNAT(arg, f.sets, natConfig)
	if err != nil {
		return err
	}
	printNATChange(cmd.OutOrStdout(), sc.NATChange)
	backend, err := newBackend(f.testbed)
	if err != nil {
		return err
	}
	candidate, err := loadNATSysctls(f.natSysctls)
	if err != nil {
		return err
	}
	if err := checkCandidates(sc, candidate); err != nil {
		return err
	}
	watch, stopMetrics, err := f.metrics.start(cmd.OutOrStdout())
	if err != nil {
		return err
	}
	defer stopMetrics()
	watch = teeWatchers(watch, watchRuns)
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

	intr.setBackend(backend.Name())
	res, err := runner.Run(ctx, sc, runner.Options{
		Backend:    backend,
		Candidates: candidate,
		Log:        logf,
		OutDir:     out,
		Progress:   progress,
		OnStage:    intr.setStage,
		Watch:      watch,
	})
	if err != nil {
		if res == nil && intr.caught() {
			return &exitError{code: ExitFail, err: fmt.Errorf("interrupted while building the testbed, removed what was built (%w)", err)}
		}
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
	case intr.caught():
		// Interrupted after the last phase: the report is whole and
		// stands, but the command was interrupted all the same.
		return &exitError{code: ExitFail, err: errors.New("interrupted while cleaning up; the run had ended, its report stands")}
	case !res.Passed:
		return &exitError{code: ExitFail, err: errSilent}
	}
	return nil
}

// interrupts turns Ctrl-C (SIGINT) and SIGTERM into the cancellation of a
// run, and keeps answering them while the run cleans up: the second says
// what is still being cleaned, the third abandons the cleanup, saying
// what it leaves behind, and exits.
type interrupts struct {
	progress runner.Progress
	stderr   io.Writer
	cancel   context.CancelCauseFunc
	sigs     chan os.Signal
	done     chan struct{}

	mu    sync.Mutex
	stage runner.Stage
	count int
	// netns: the backend makes namespaces, which the second Ctrl-C counts.
	netns bool
}

func catchInterrupts(parent context.Context, p runner.Progress, stderr io.Writer) (context.Context, *interrupts) {
	ctx, cancel := context.WithCancelCause(parent)
	in := &interrupts{progress: p, stderr: stderr, cancel: cancel, sigs: make(chan os.Signal, 4), done: make(chan struct{})}
	signal.Notify(in.sigs, os.Interrupt, syscall.SIGTERM)
	go in.loop()
	return ctx, in
}

func (in *interrupts) stop() {
	signal.Stop(in.sigs)
	close(in.done)
	in.cancel(nil)
}

func (in *interrupts) setBackend(name string) {
	in.mu.Lock()
	in.netns = name == "netns"
	in.mu.Unlock()
}

func (in *interrupts) setStage(s runner.Stage) {
	in.mu.Lock()
	in.stage = s
	in.mu.Unlock()
}

// caught reports whether a signal came.
func (in *interrupts) caught() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.count > 0
}

func (in *interrupts) loop() {
	for {
		select {
		case <-in.done:
			return
		case sig := <-in.sigs:
			in.mu.Lock()
			in.count++
			n, stage, netns := in.count, in.stage, in.netns
			in.mu.Unlock()
			switch n {
			case 1:
				in.cancel(fmt.Errorf("%s signal received", sig))
				switch stage {
				case "", runner.StageSetup, runner.StagePlay:
					in.progress.Note("interrupted: stopping the run and cleaning up (Ctrl-C again says what is left)")
				default:
					in.progress.Note("interrupted: the run had ended, finishing the cleanup (Ctrl-C again says what is left)")
				}
			case 2:
				in.progress.Note(fmt.Sprintf("still cleaning up: %s; press Ctrl-C again to abandon the cleanup (natlab clean then removes what is left)", left(stage, netns)))
			default:
				// Written past the progress view: the process ends now.
				fmt.Fprintf(in.stderr, "\nnatlab: cleanup abandoned while %s; natlab clean removes what is left\n", left(stage, netns))
				os.Exit(ExitFail)
			}
		}
	}
}

// left says what the cleanup is busy with and what of this process's runs
// still exists.
func left(stage runner.Stage, namespaces bool) string {
	doing := map[runner.Stage]string{
		runner.StageSetup:    "stopping the testbed build and removing what it made",
		runner.StagePlay:     "stopping the loads",
		runner.StageRevert:   "reverting faults",
		runner.StageReports:  "writing the reports",
		runner.StageTeardown: "removing the testbed",
	}[stage]
	if doing == "" {
		doing = "stopping"
	}
	states, _ := testbed.ListStates()
	for _, s := range states {
		if s.PID != os.Getpid() {
			continue
		}
		doing += fmt.Sprintf(", run %s", s.ID)
		if namespaces {
			if names, err := netns.Namespaces(s.ID); err == nil {
				doing += fmt.Sprintf(" has %d namespaces left", len(names))
			}
		}
	}
	return doing
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
