package chaos_test

import (
	"testing"

	tt "github.com/natlab/natlab/testbed/testbedtest"
)

// The VM faults in namespaces, as TestEveryFaultKindOnDocker runs them in
// containers.
func TestVMStartAndStop(t *testing.T) {
	t.Run("start", func(t *testing.T) {
		_, env := up(t, tt.VMsSpec())
		tt.CheckVMStart(t, env)
	})
	t.Run("stop", func(t *testing.T) {
		_, env := up(t, tt.VMsSpec())
		tt.CheckVMStop(t, env)
	})
}
