package main

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/natlab/natlab/scenario"
	"github.com/natlab/natlab/scenario/natconfig"
)

// natConfigFlags are --nat-config and --nat-config-resource.
type natConfigFlags struct {
	file     string
	resource string
}

func (f *natConfigFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.file, "nat-config", "", "candidate NAT config replacing the scenario's NAT settings: a NAT block in natlab's YAML, a .tf file (google_compute_router_nat or aws_nat_gateway), or terraform show -json PLAN")
	fl.StringVar(&f.resource, "nat-config-resource", "", "the resource of --nat-config to gate, by address (google_compute_router_nat.nat), when it holds several")
}

// load reads the candidate (nil without --nat-config) and warns of what
// it holds that natlab does not model. Problems are bad input (exit 2),
// told as FILE:LINE:COL: message.
func (f *natConfigFlags) load(stderr io.Writer) (*scenario.NATConfig, error) {
	if f.file == "" {
		if f.resource != "" {
			return nil, inputErr(fmt.Errorf("--nat-config-resource %s: give the file it is in with --nat-config", f.resource))
		}
		return nil, nil
	}
	cfg, err := natconfig.Load(f.file, f.resource)
	if err != nil {
		return nil, inputErr(err)
	}
	for _, ig := range cfg.Ignored {
		fmt.Fprintf(stderr, "natlab: warning: --nat-config ignores %s\n", ig)
	}
	return cfg, nil
}

// printNATChange says what the candidate changes, before the run starts.
func printNATChange(w io.Writer, ch *scenario.NATChange) {
	if ch == nil {
		return
	}
	from := ch.File
	if ch.Resource != "" {
		from += " (" + ch.Resource + ")"
	}
	if len(ch.Changes) == 0 {
		fmt.Fprintf(w, "NAT config %s: no setting differs from the scenario's\n", from)
		return
	}
	fmt.Fprintf(w, "NAT config %s changes:\n", from)
	for _, c := range ch.Changes {
		fmt.Fprintf(w, "  %s %s: %s -> %s\n", c.NAT, c.Setting, c.Before, c.After)
	}
}
