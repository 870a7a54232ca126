// Command testagent is natlab's agent alone (`testagent agent ROLE ...`),
// built statically for the docker tests' image so that they do not depend
// on the whole CLI building.
package main

import (
	"fmt"
	"os"

	"github.com/natlab/natlab/agent"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "agent" {
		os.Exit(agent.Main(os.Args[2:]))
	}
	fmt.Fprintln(os.Stderr, "usage: testagent agent nat|backend|client --host NAME --run ID [--listen unix:PATH]")
	os.Exit(2)
}
