package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"

	"github.com/natlab/natlab/testbed"
)

func newCleanCmd() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "clean [RUN-ID...]",
		Short: "Remove what killed runs left behind (namespaces, agents, containers, networks)",
		Long: `clean removes the namespaces (and with them every veth, bridge, nftables
rule and namespaced sysctl) and agent processes of runs whose natlab process
is gone, for example after a SIGKILL, and the containers and networks of the
docker backend labelled with such runs. With RUN-IDs it cleans only those
runs; a run that is still alive is left alone unless --force is given.
As a user other than root it removes containers and networks only:
namespaces need root.`,
		RunE: func(cmd *cobra.Command, ids []string) error {
			for _, id := range ids {
				if err := testbed.CheckRunID(id); err != nil {
					return inputErr(err)
				}
			}
			ctx := cmd.Context()
			cls, err := cleaners(ctx)
			if err != nil {
				return err
			}
			runs, err := findRuns(ctx, cls)
			if err != nil {
				return err
			}
			targets := ids
			if len(targets) == 0 {
				for id := range runs {
					targets = append(targets, id)
				}
				sort.Strings(targets)
			}
			out := cmd.OutOrStdout()
			var errs []error
			cleaned := 0
			for _, id := range targets {
				r := runs[id]
				if r.alive() && !force {
					fmt.Fprintf(out, "run %s is still running: left alone (use --force to remove it anyway)\n", id)
					continue
				}
				removed, err := removeRun(ctx, out, cls, id)
				errs = append(errs, err)
				if removed > 0 || r.known {
					fmt.Fprintf(out, "cleaned run %s\n", id)
					cleaned++
				}
			}
			if err := errors.Join(errs...); err != nil {
				return err
			}
			if cleaned == 0 {
				fmt.Fprintln(out, "nothing to clean")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "also remove runs whose natlab process is still alive")
	return cmd
}

// runInfo is what natlab knows of a run: its state as the state directory
// recorded it, else as a backend's leftovers tell it (docker labels name
// the process that made a run; another user's state directory is out of
// sight).
type runInfo struct {
	state testbed.State
	known bool // recorded in the state directory
}

func (r runInfo) alive() bool { return r.state.Alive() }

// findRuns gathers every run the state directory records or a backend
// holds resources of.
func findRuns(ctx context.Context, cls []testbed.Cleaner) (map[string]runInfo, error) {
	states, err := testbed.ListStates()
	if err != nil {
		return nil, err
	}
	runs := map[string]runInfo{}
	for _, s := range states {
		runs[s.ID] = runInfo{state: s, known: true}
	}
	for _, c := range cls {
		left, err := c.Leftovers(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range left {
			if _, ok := runs[s.ID]; !ok {
				runs[s.ID] = runInfo{state: s}
			}
		}
	}
	return runs, nil
}

// removeRun removes what run id left on every backend in cls (namespaces,
// and with them veths, rules and sysctls; containers and networks) and its
// state. It prints each thing it removes and returns how many there were.
func removeRun(ctx context.Context, out io.Writer, cls []testbed.Cleaner, id string) (int, error) {
	var errs []error
	removed := 0
	for _, c := range cls {
		gone, err := c.Clean(ctx, id)
		errs = append(errs, err)
		for _, r := range gone {
			fmt.Fprintf(out, "removed %s\n", r)
		}
		removed += len(gone)
	}
	errs = append(errs, testbed.Forget(id))
	return removed, errors.Join(errs...)
}
