// Command natlab builds a real Linux NAT testbed, drives connection storms
// through it, injects the faults of real NAT incidents and judges the run.
package main

import (
	"os"

	"github.com/natlab/natlab/agent"
)

func main() {
	// Agents are this same binary re-executed inside each host; they skip
	// cobra entirely so they start fast and print nothing but protocol.
	if len(os.Args) > 1 && os.Args[1] == "agent" {
		os.Exit(agent.Main(os.Args[2:]))
	}
	os.Exit(Execute(os.Args[1:], os.Stdout, os.Stderr))
}
