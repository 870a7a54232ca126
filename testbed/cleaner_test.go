package testbed

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slotBackend is a backend whose leftovers hold address slots, as docker
// networks of other users' runs do; Create records the run's slot.
type slotBackend struct {
	held []State
	slot int
}

func (b *slotBackend) Name() string { return "slots" }
func (b *slotBackend) Create(_ context.Context, r *Run) ([]Host, error) {
	b.slot = r.Slot
	return nil, errors.New("no hosts here")
}
func (b *slotBackend) Destroy(context.Context) error { return nil }
func (b *slotBackend) Leftovers(context.Context) ([]State, error) {
	return b.held, nil
}
func (b *slotBackend) Clean(context.Context, string) ([]string, error) { return nil, nil }

// A slot that a backend's leftovers hold is not free, though no state in
// this registry records it: another user's run, or a killed one's
// networks, would clash with it.
func TestUpAvoidsSlotsLeftoversHold(t *testing.T) {
	useStateDir(t, t.TempDir())
	be := &slotBackend{held: []State{{ID: "aaaaaa", Slot: 0}, {ID: "bbbbbb", Slot: -1}, {ID: "cccccc", Slot: 1}}}
	_, err := Up(context.Background(), validSpec(), be, Options{})
	require.Error(t, err)
	assert.Equal(t, 2, be.slot)
	states, err := ListStates()
	require.NoError(t, err)
	assert.Empty(t, states, "the failed run is forgotten")
}

// Root records its runs where root's natlab clean looks, whatever the
// environment (sudo -E keeps the user's XDG_RUNTIME_DIR).
func TestRootStateDirIgnoresTheEnvironment(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test checks root's state directory; run it as root (CI does)")
	}
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	t.Setenv("XDG_STATE_HOME", "/home/someone/.local/state")
	assert.Equal(t, "/run/natlab", DefaultStateDir())
}

func TestCheckRunID(t *testing.T) {
	for _, ok := range []string{"a1b2c3", "0", "abcdefabcdefabcdefabcdefabcdefab"} {
		assert.NoError(t, CheckRunID(ok), ok)
	}
	for _, bad := range []string{"", "../x", "abc-nat", "ABC", "a.b", "a/b", "abcdefabcdefabcdefabcdefabcdefabc"} {
		assert.Error(t, CheckRunID(bad), bad)
	}
}
