// Package tooltest finds the external programs some tests drive
// (chromium, xmllint). In CI (CI=true) a missing program fails the test:
// .ci/run installs them, so a skip there would hide a check that never
// ran. Elsewhere the test is skipped with what to install.
package tooltest

import (
	"os"
	"os/exec"
	"testing"
)

// Require returns the path of the first of names on the PATH; pkg is the
// Debian package that brings it.
func Require(t testing.TB, pkg string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%v not found: CI must have it (.ci/run installs the Debian package %s)", names, pkg)
	}
	t.Skipf("%v not found: apt-get install %s to run this test", names, pkg)
	return ""
}
