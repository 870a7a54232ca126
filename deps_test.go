package natlab

import (
	"os/exec"
	"strings"
	"testing"
)

// The runner's side of natlab must not link the code that runs inside a
// host: parsing a scenario or planning a fault never needs nftables,
// netlink, conntrack or the backend servers. A package that starts to
// import one of them fails here with the chain that brought it in.
func TestRunnerSideLinksNoKernelCode(t *testing.T) {
	forbidden := []string{
		"github.com/google/nftables",
		"github.com/vishvananda/netlink",
		"github.com/ti-mo/conntrack",
		"github.com/mdlayher/netlink",
		"github.com/natlab/natlab/agent/natbox",
		"github.com/natlab/natlab/agent/servers",
		"github.com/natlab/natlab/agent/droprules",
	}
	for _, pkg := range []string{
		"./scenario", "./chaos", "./testbed", "./testbed/natcfg", "./testbed/service",
		"./testbed/sampler", "./scenario/runner", "./agent/wire", "./loadgen", "./reports",
	} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if dep == f || strings.HasPrefix(dep, f+"/") {
					t.Errorf("%s links %s; see `go mod why -m` or `go list -deps %s`", pkg, dep, pkg)
				}
			}
		}
	}
}

// loadgen is a library of its own: it imports nothing else of natlab.
func TestLoadgenImportsNoOtherNatlabPackage(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./loadgen").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/natlab/natlab/") && dep != "github.com/natlab/natlab/loadgen" {
			t.Errorf("loadgen imports %s", dep)
		}
	}
}
