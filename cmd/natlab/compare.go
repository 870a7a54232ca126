package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/natlab/natlab/reports"
	"github.com/natlab/natlab/scenario"
	"github.com/natlab/natlab/scenario/runner"
	"github.com/natlab/natlab/testbed"
)

type compareFlags struct {
	testbed    string
	out        string
	sets       []string
	vary       []string
	variants   []string
	gate       []string
	natSysctls []string
	natConfig  natConfigFlags
	// nat is the --nat-config candidate, read once for every variant.
	nat *scenario.NATConfig
}

func newCompareCmd() *cobra.Command {
	var f compareFlags
	cmd := &cobra.Command{
		Use:   "compare SCENARIO|FIXTURE (--vary PATH=V1,V2,... | --variant 'NAME: PATH=VALUE; ...')...",
		Short: "Run variants of a scenario on identical schedules and compare them in one report",
		Long: `compare runs the same scenario several times, each variant with a few more
--set overrides, one after another on a fresh testbed each, on identical
schedules (the variants may not change phase durations or fault times), and
writes one comparison: compare.json (schema natlab.compare/v1), compare.md
(fits a CI step summary) and compare.html (self-contained, the variants'
ok/s, errors/s and NAT port utilization overlaid), with one row per variant:
throughput, error rate, connect and request latency, new connections per
request, peak NAT ports in use and utilization, peak conntrack, allocation
failures and verdict. Every variant's own run directory (report.json,
report.html, ...) is in the comparison's directory, NN-NAME.

--vary PATH=V1,V2,... makes one variant per value (PATH as in --set, [*] for
every item of a list); several --vary make a matrix. --variant 'NAME:
PATH=VALUE; PATH=VALUE' is one named variant of several overrides at once,
for variants no single path tells apart (a strategy with its pool).

Exit codes: 0 every variant passed (with --gate: every gated one), 1 one
failed or the comparison was interrupted, 2 bad input, 3 testbed or
environment error.`,
		Example: `  natlab compare nat-port-exhaustion-pooled --vary 'phases[*].load.pool=none,keepalive'
  natlab compare pooling-strategies \
    --variant 'http1-close: phases[*].load.pool=none' \
    --variant 'http1-keepalive: phases[*].load.pool=keepalive' \
    --variant 'h2c: phases[*].load.strategy=h2c' --gate http1-keepalive --gate h2c`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return compareScenario(cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.testbed, "testbed", "auto", "testbed backend: "+backendNames+" (auto: netns as root, else docker)")
	fl.StringVar(&f.out, "out", "", "comparison directory (default natlab-runs/compare-NAME-TIME)")
	fl.StringArrayVar(&f.sets, "set", nil, "override a scenario value in every variant, PATH=VALUE (repeatable)")
	fl.StringArrayVar(&f.vary, "vary", nil, "one variant per value, PATH=V1,V2,... (repeatable: a matrix)")
	fl.StringArrayVar(&f.variants, "variant", nil, "a named variant, 'NAME: PATH=VALUE; PATH=VALUE' (repeatable)")
	fl.StringArrayVar(&f.gate, "gate", nil, "judge the exit code on this variant only (repeatable; default: every variant)")
	fl.StringArrayVar(&f.natSysctls, "nat-sysctls", nil, "candidate sysctl.conf applied before load in every variant: FILE to every NAT box, NAT=FILE to one (repeatable)")
	f.natConfig.register(fl)
	return cmd
}

// plannedVariant is a variant with its scenario parsed and its directory.
type plannedVariant struct {
	scenario.Variant
	sc  *scenario.Scenario
	dir string // relative to the comparison's directory
}

// planVariants parses every variant's scenario before anything runs: bad
// input in any variant is refused up front.
func planVariants(arg string, f compareFlags) ([]plannedVariant, error) {
	var dims []scenario.Dimension
	var named []scenario.Variant
	var errs []error
	for _, s := range f.vary {
		d, err := scenario.ParseVary(s)
		errs = append(errs, err)
		dims = append(dims, d)
	}
	for _, s := range f.variants {
		v, err := scenario.ParseVariant(s)
		errs = append(errs, err)
		named = append(named, v)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, inputErr(err)
	}
	variants, err := scenario.Variants(named, dims)
	if err != nil {
		return nil, inputErr(err)
	}
	for _, g := range f.gate {
		if !slices.ContainsFunc(variants, func(v scenario.Variant) bool { return v.Name == g }) {
			errs = append(errs, fmt.Errorf("--gate %s names no variant", g))
		}
	}
	var out []plannedVariant
	for i, v := range variants {
		sc, err := loadScenarioNAT(arg, append(append([]string(nil), f.sets...), v.Sets...), f.nat)
		if err != nil {
			errs = append(errs, fmt.Errorf("variant %s: %w", v.Name, err))
			continue
		}
		if len(out) > 0 {
			if err := scenario.SameSchedule(out[0].sc, sc); err != nil {
				errs = append(errs, fmt.Errorf("variant %s does not run on the schedule of %s: %w", v.Name, out[0].Name, err))
			}
		}
		out = append(out, plannedVariant{Variant: v, sc: sc, dir: fmt.Sprintf("%02d-%s", i+1, slug(v.Name))})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, inputErr(err)
	}
	return out, nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// slug makes a variant name a directory name.
func slug(name string) string {
	s := strings.Trim(unsafeName.ReplaceAllString(name, "-"), "-.")
	if s == "" {
		return "variant"
	}
	return s
}

func compareScenario(cmd *cobra.Command, arg string, f compareFlags) error {
	nat, err := f.natConfig.load(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	f.nat = nat
	planned, err := planVariants(arg, f)
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
	for _, v := range planned {
		if err := checkCandidates(v.sc, candidate); err != nil {
			return err
		}
	}
	base := planned[0].sc
	out := f.out
	if out == "" {
		out = filepath.Join("natlab-runs", "compare-"+base.Name+"-"+time.Now().Format("20060102-150405"))
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("create comparison directory: %w", err)
	}

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stdout := cmd.OutOrStdout()
	c := &reports.Comparison{Scenario: reports.Scenario{Name: base.Name, Description: base.Description, File: base.File},
		Started: time.Now().UTC(), Varied: append(append([]string{}, f.vary...), f.variants...), Gate: append([]string{}, f.gate...)}
	c.Phases, c.Faults = []reports.TimelinePhase{}, []reports.TimelineFault{}
	timeline := false
	var envErr error
	for i, v := range planned {
		if ctx.Err() != nil || envErr != nil {
			why := "not run: the comparison was interrupted"
			if envErr != nil {
				why = "not run: an earlier variant could not run: " + envErr.Error()
			}
			c.Variants = append(c.Variants, reports.FailedVariant(v.Name, v.Sets, v.dir, why))
			continue
		}
		fmt.Fprintf(stdout, "\n== variant %d of %d: %s (--set %s)\n", i+1, len(planned), v.Name, strings.Join(v.Sets, " --set "))
		rep, err := runVariant(ctx, cmd, v, filepath.Join(out, v.dir), backend, candidate)
		if err != nil {
			var ie *testbed.InputError
			if errors.As(err, &ie) {
				return inputErr(fmt.Errorf("variant %s: %w", v.Name, err))
			}
			envErr = fmt.Errorf("variant %s: %w", v.Name, err)
			fmt.Fprintf(cmd.ErrOrStderr(), "natlab: %v\n", envErr)
			c.Variants = append(c.Variants, reports.FailedVariant(v.Name, v.Sets, v.dir, err.Error()))
			continue
		}
		c.Variants = append(c.Variants, reports.VariantOf(v.Name, v.Sets, v.dir, rep))
		if !timeline {
			c.Phases, c.Faults = reports.TimelineOf(rep)
			timeline = true
		}
	}
	c.Duration = reports.Seconds(time.Since(c.Started))
	c.Judge()
	if err := reports.WriteComparison(out, c); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	fmt.Fprintf(stdout, "\n%s\ncomparison in %s (compare.md, compare.html, compare.json)\n", c.Summary(), out)
	switch {
	case envErr != nil:
		return &exitError{code: ExitEnviron, err: envErr}
	case ctx.Err() != nil:
		return &exitError{code: ExitFail, err: fmt.Errorf("comparison interrupted (%s)", context.Cause(ctx))}
	case c.Verdict != reports.VerdictPass:
		return &exitError{code: ExitFail, err: errSilent}
	}
	return nil
}

// runVariant plays one variant into its run directory, as run does.
func runVariant(ctx context.Context, cmd *cobra.Command, v plannedVariant, dir string, backend testbed.Backend, candidate []runner.Candidate) (*reports.Report, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create run directory: %w", err)
	}
	logf, err := os.Create(filepath.Join(dir, "agents.log"))
	if err != nil {
		return nil, fmt.Errorf("create agent log: %w", err)
	}
	defer logf.Close()
	res, err := runner.Run(ctx, v.sc, runner.Options{Backend: backend, Candidates: candidate, Log: logf,
		OutDir: dir, Progress: runner.NewProgress(cmd.OutOrStdout())})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s\n", res.Summary())
	return res.Report, nil
}
