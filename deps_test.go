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
		"./testbed/sampler", "./scenario/runner", "./agent/wire", "./loadgen", "./reports", "./internal/field",
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

// loadgen is a library of its own: besides the leaf packages named here
// (internal packages that import nothing of natlab themselves) it imports
// nothing else of natlab.
var loadgenMayImport = []string{
	"github.com/natlab/natlab/internal/field",
	"github.com/natlab/natlab/internal/holepunch",
	"github.com/natlab/natlab/internal/portrange",
}

func TestLoadgenImportsNoOtherNatlabPackage(t *testing.T) {
	allowed := map[string]bool{"github.com/natlab/natlab/loadgen": true}
	for _, pkg := range loadgenMayImport {
		allowed[pkg] = true
		for _, dep := range natlabDeps(t, pkg) {
			if dep != pkg {
				t.Errorf("%s is allowed in loadgen as a leaf, but it imports %s", pkg, dep)
			}
		}
	}
	for _, dep := range natlabDeps(t, "./loadgen") {
		if !allowed[dep] {
			t.Errorf("loadgen imports %s", dep)
		}
	}
}

// natlabDeps lists the natlab packages pkg links, itself included.
func natlabDeps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
	}
	var deps []string
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/natlab/natlab/") {
			deps = append(deps, dep)
		}
	}
	return deps
}
