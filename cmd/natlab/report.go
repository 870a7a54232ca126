package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/natlab/natlab/reports"
)

func newReportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "report DIR",
		Short: "Render every report format of a run or a comparison again from its json",
		Long: `report writes every format of a finished run again from the run directory's
report.json (which holds the time series too; samples.csv is written from
it, and read only when report.json has no samples): samples.csv,
report.md, report.html and junit.xml. Use it after upgrading natlab, or
after editing report.json by hand.

Given a comparison's directory (compare.json), it renders every variant's
run directory again, then compare.json, compare.md and compare.html from
the variants' report.json (a variant without one keeps its row of
compare.json).

Exit codes: 0 rendered, 2 DIR holds no natlab report (or one of another
schema), 3 a file could not be written.`,
		Example: `  natlab report natlab-runs/nat-port-exhaustion-20260616-074500
  natlab report natlab-runs/compare-pooling-strategies-20260616-080000`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if exists(filepath.Join(dir, reports.CompareFile)) {
				return renderComparison(cmd, dir)
			}
			if !exists(filepath.Join(dir, "report.json")) {
				return inputErr(fmt.Errorf("%s has neither report.json nor %s: not a natlab run or comparison directory", dir, reports.CompareFile))
			}
			if err := renderRun(dir); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rendered %s: %v\n", dir, reports.Formats())
			return nil
		},
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// renderRun writes every format of the run in dir from its report.json.
func renderRun(dir string) error {
	rep, err := readRun(dir)
	if err != nil {
		return err
	}
	if err := reports.Write(dir, rep); err != nil {
		return fmt.Errorf("render %s: %w", dir, err)
	}
	return nil
}

// readRun reads report.json of dir, with the samples of samples.csv when
// report.json has none.
func readRun(dir string) (*reports.Report, error) {
	rep, err := reports.Read(filepath.Join(dir, "report.json"))
	if err != nil {
		return nil, inputErr(err)
	}
	if len(rep.Samples) == 0 && exists(filepath.Join(dir, "samples.csv")) {
		f, err := os.Open(filepath.Join(dir, "samples.csv"))
		if err != nil {
			return nil, inputErr(err)
		}
		defer f.Close()
		if rep.Samples, err = reports.ReadSamples(f); err != nil {
			return nil, inputErr(fmt.Errorf("%s: %w", filepath.Join(dir, "samples.csv"), err))
		}
	}
	if err := rep.Validate(); err != nil {
		return nil, inputErr(fmt.Errorf("%s: %w", filepath.Join(dir, "report.json"), err))
	}
	return rep, nil
}

// renderComparison renders every variant's run again, then the comparison.
func renderComparison(cmd *cobra.Command, dir string) error {
	c, err := reports.ReadComparison(filepath.Join(dir, reports.CompareFile))
	if err != nil {
		return inputErr(err)
	}
	for i, v := range c.Variants {
		vdir := filepath.Join(dir, v.Dir)
		if v.Dir == "" || !exists(filepath.Join(vdir, "report.json")) {
			continue
		}
		rep, err := readRun(vdir)
		if err != nil {
			return err
		}
		if err := reports.Write(vdir, rep); err != nil {
			return fmt.Errorf("render %s: %w", vdir, err)
		}
		c.Variants[i] = reports.VariantOf(v.Name, v.Sets, v.Dir, rep)
		fmt.Fprintf(cmd.OutOrStdout(), "rendered %s: %v\n", vdir, reports.Formats())
	}
	c.Judge()
	if err := reports.WriteComparison(dir, c); err != nil {
		return fmt.Errorf("render %s: %w", dir, err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "rendered %s: %v\n", dir, reports.CompareFormats())
	return nil
}
