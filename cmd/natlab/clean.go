package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/natlab/natlab/docker"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/netns"
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
runs; a run that is still alive is left alone unless --force is given.`,
		RunE: func(cmd *cobra.Command, ids []string) error {
			if os.Geteuid() != 0 {
				return testbed.ErrNotRoot
			}
			states, err := testbed.ListStates()
			if err != nil {
				return err
			}
			alive := map[string]bool{}
			known := map[string]bool{}
			for _, s := range states {
				alive[s.ID] = s.Alive()
				known[s.ID] = true
			}
			targets := map[string]bool{}
			if len(ids) > 0 {
				for _, id := range ids {
					targets[id] = true
				}
			} else {
				for _, s := range states {
					targets[s.ID] = true
				}
				names, err := netns.Namespaces("")
				if err != nil {
					return err
				}
				for _, n := range names {
					targets[netns.RunIDOf(n)] = true
				}
			}
			// Containers and networks of the docker backend, when its engine
			// is reachable.
			dockerLeft, dockerErr := docker.Leftovers(cmd.Context())
			if dockerErr == nil && len(ids) == 0 {
				for _, r := range dockerLeft {
					targets[r.RunID] = true
				}
			}
			var errs []error
			cleaned := 0
			for id := range targets {
				if alive[id] && !force {
					fmt.Fprintf(cmd.OutOrStdout(), "run %s is still running: left alone (use --force to remove it anyway)\n", id)
					continue
				}
				removed, err := removeRun(cmd, id, dockerErr == nil)
				errs = append(errs, err)
				if removed > 0 || known[id] {
					fmt.Fprintf(cmd.OutOrStdout(), "cleaned run %s\n", id)
					cleaned++
				}
			}
			if err := errors.Join(errs...); err != nil {
				return err
			}
			if cleaned == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "nothing to clean")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "also remove runs whose natlab process is still alive")
	return cmd
}

// removeRun removes what run id left: its namespaces (and with them its
// veths, rules and sysctls), its containers and networks when docker is
// reachable, and its state. It prints each thing it removes and returns
// how many there were.
func removeRun(cmd *cobra.Command, id string, withDocker bool) (int, error) {
	out := cmd.OutOrStdout()
	names, err := netns.Clean(id)
	errs := []error{err}
	for _, n := range names {
		fmt.Fprintf(out, "removed namespace %s\n", n)
	}
	removed := len(names)
	if withDocker {
		gone, err := docker.Clean(cmd.Context(), id)
		errs = append(errs, err)
		for _, r := range gone {
			fmt.Fprintf(out, "removed %s\n", r)
		}
		removed += len(gone)
	}
	errs = append(errs, testbed.Forget(id))
	return removed, errors.Join(errs...)
}
