package main

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/natlab/natlab/docker"
	"github.com/natlab/natlab/scenario/runner"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/netns"
)

func newUpCmd() *cobra.Command {
	var sets []string
	var backendName string
	cmd := &cobra.Command{
		Use:   "up SCENARIO|FIXTURE",
		Short: "Build a scenario's testbed and keep it up for hands-on investigation",
		Long: `up builds the testbed of a scenario (no load, no faults), prints how to
enter each host, and keeps it up until Ctrl-C, or until ` + "`natlab down RUN`" + ` is
run from another shell. Inside the hosts the usual tools work: ip, nft,
conntrack, ss, curl. A netns host is entered with ip netns exec; a docker
host's image holds nothing but natlab, so nsenter runs this machine's tools
in its container's network namespace (as root).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := loadScenario(args[0], sets)
			if err != nil {
				return err
			}
			backend, err := newBackend(backendName)
			if err != nil {
				return err
			}
			// The interrupts of run: the first Ctrl-C (or `natlab down`'s
			// SIGTERM) tears down, a second says what is left, a third
			// abandons the teardown to `natlab clean`.
			ctx, intr := catchInterrupts(cmd.Context(), runner.NewProgress(cmd.ErrOrStderr()), cmd.ErrOrStderr())
			defer intr.stop()
			intr.setBackend(backend.Name())
			intr.setStage(runner.StageSetup)
			tb, err := testbed.Up(ctx, sc.Testbed, backend, testbed.Options{Log: cmd.ErrOrStderr()})
			if err != nil {
				return err
			}
			printHosts(cmd, tb, backend.Name())
			<-ctx.Done()
			intr.setStage(runner.StageTeardown)
			fmt.Fprintf(cmd.OutOrStdout(), "tearing down run %s\n", tb.Run.ID)
			return tb.Down(context.WithoutCancel(ctx))
		},
	}
	cmd.Flags().StringArrayVar(&sets, "set", nil, "override a scenario value, PATH=VALUE (repeatable)")
	cmd.Flags().StringVar(&backendName, "testbed", "auto", "testbed backend: "+backendNames+" (auto: netns as root, else docker)")
	return cmd
}

// enterCommand is the shell command that enters host of run id on backend.
func enterCommand(backend, id, host string) string {
	if backend == "docker" {
		sudo := ""
		if os.Geteuid() != 0 {
			sudo = "sudo "
		}
		return sudo + "nsenter -n -t $(docker inspect -f '{{.State.Pid}}' " + docker.ContainerName(id, host) + ") bash"
	}
	return "ip netns exec " + netns.NamespaceName(id, host) + " bash"
}

func printHosts(cmd *cobra.Command, tb *testbed.Testbed, backend string) {
	out := cmd.OutOrStdout()
	l := tb.Run.Layout
	enter := func(host string) string { return enterCommand(backend, tb.Run.ID, host) }
	fmt.Fprintf(out, "testbed %s is up. Enter a host with the command beside it:\n\n", tb.Run.ID)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, n := range l.NATs {
		fmt.Fprintf(w, "  %s\t%s\tNAT IPs %v\n", n.Name, enter(n.Name), n.IPs)
	}
	for _, c := range l.Hosts {
		b, _ := l.Block(c.Block)
		if c.Role == testbed.RoleApp {
			a, _ := tb.Run.Spec.App(c.Name)
			fmt.Fprintf(w, "  %s\t%s\tapp %s: serves %s:%d, calls %s through %s\n", c.Name, enter(c.Name), a.Name, c.Link, a.Port, a.Dependency, b.NAT)
			continue
		}
		fmt.Fprintf(w, "  %s\t%s\t%d source addresses in %s, gateway %s\n", c.Name, enter(c.Name), len(c.Sources), c.Prefix, b.Gateway)
	}
	for i, b := range l.Backends {
		spec := tb.Run.Spec.Backends[i]
		fmt.Fprintf(w, "  %s\t%s\t%s, %s on port %d\n", b.Name, enter(b.Name), b.Addr, spec.Protocol, spec.Port)
	}
	w.Flush()
	fmt.Fprintf(out, "\nnatlab keeps it up until Ctrl-C, or `natlab down %s` from another shell.\n", tb.Run.ID)
}

func newDownCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "down RUN-ID",
		Short: "Tear down a testbed that `natlab up` keeps up",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			if err := testbed.CheckRunID(id); err != nil {
				return inputErr(err)
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
			if r, ok := runs[id]; ok {
				if r.state.Backend != "" {
					// The run lives on the backend it records.
					c, err := cleanerOf(ctx, cls, r.state.Backend)
					if err != nil {
						return fmt.Errorf("run %s is a %s testbed: %w", id, r.state.Backend, err)
					}
					cls = []testbed.Cleaner{c}
				}
				if r.alive() {
					// Let the owner tear down in order, then make sure.
					_ = syscall.Kill(r.state.PID, syscall.SIGTERM)
					deadline := time.Now().Add(15 * time.Second)
					for r.alive() && time.Now().Before(deadline) {
						time.Sleep(100 * time.Millisecond)
					}
				}
				_, err := removeRun(ctx, cmd.OutOrStdout(), cls, id)
				fmt.Fprintf(cmd.OutOrStdout(), "run %s is down\n", id)
				return err
			}
			return inputErr(fmt.Errorf("no run %q: `natlab clean` lists and removes leftovers", id))
		},
	}
}
