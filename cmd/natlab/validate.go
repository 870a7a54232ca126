package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

func newValidateCmd() *cobra.Command {
	var sets []string
	var natSysctls []string
	var natConfig natConfigFlags
	cmd := &cobra.Command{
		Use:   "validate SCENARIO...",
		Short: "Check scenario files (or fixture names) without running anything",
		Long: `validate parses each scenario and checks it against everything natlab knows
before a run: keys, durations, rates, hosts, fault kinds and parameters,
metrics of assertions. Every problem is printed as FILE:LINE:COL: message.
--set, --nat-sysctls and --nat-config are checked as run would apply them,
so a CI gate can validate its candidate before it builds anything.
Exit code 0 when all are valid, 2 otherwise.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			bad := 0
			candidate, err := loadNATSysctls(natSysctls)
			if err != nil {
				bad++
				fmt.Fprintln(cmd.ErrOrStderr(), err)
			}
			nat, natErr := natConfig.load(cmd.ErrOrStderr())
			if natErr != nil {
				bad++
				fmt.Fprintln(cmd.ErrOrStderr(), natErr)
			}
			for _, arg := range args {
				if natErr != nil {
					break // every scenario would need the candidate
				}
				sc, err := loadScenarioNAT(arg, sets, nat)
				if err != nil {
					bad++
					fmt.Fprintln(cmd.ErrOrStderr(), err)
					continue
				}
				if err := checkCandidates(sc, candidate); err != nil {
					bad++
					fmt.Fprintln(cmd.ErrOrStderr(), err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%d phases, %s, %d faults, %d assertions)\n",
					sc.File, len(sc.Phases), sc.Duration(), len(sc.Faults), len(sc.Asserts))
				printNATChange(cmd.OutOrStdout(), sc.NATChange)
			}
			if bad > 0 {
				return inputErr(errors.New(""))
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&sets, "set", nil, "override a scenario value, PATH=VALUE (repeatable), as run does")
	cmd.Flags().StringArrayVar(&natSysctls, "nat-sysctls", nil, "also check this candidate sysctl.conf: FILE for every NAT box, NAT=FILE for one (repeatable)")
	natConfig.register(cmd.Flags())
	return cmd
}
