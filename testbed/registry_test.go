package testbed

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// useStateDir points the registry at dir for the rest of the test.
func useStateDir(t *testing.T, dir string) {
	was := StateDir
	StateDir = dir
	t.Cleanup(func() { StateDir = was })
}

// held is one state per slot given, of the kind given.
func held(isolated bool, slots ...int) []State {
	var out []State
	for _, s := range slots {
		out = append(out, State{ID: fmt.Sprintf("s%d", s), Slot: s, Isolated: isolated})
	}
	return out
}

func allSlots() []int {
	out := make([]int, Slots)
	for i := range out {
		out[i] = i
	}
	return out
}

// A slot goes to at most one run that can clash by address (docker's
// networks are global to the engine); an isolated run (netns) shares one
// when every slot is held, and any run takes an unheld slot first.
func TestPickSlot(t *testing.T) {
	tests := []struct {
		name     string
		states   []State
		taken    []int
		isolated bool
		want     int // -1: refused
	}{
		{name: "empty registry", want: 0},
		{name: "the first unheld slot", states: held(false, 0, 1, 3), want: 2},
		{name: "a leftover's slot is held", states: held(false, 0), taken: []int{1}, want: 2},
		{name: "every slot held by a clashing run", states: held(false, allSlots()...), want: -1},
		{name: "leftovers hold the rest", states: held(false, allSlots()[1:]...), taken: []int{0}, want: -1},
		{name: "isolated runs hold no slot against a clashing run", states: held(true, allSlots()...), want: 0},
		{name: "but an unheld slot comes first", states: append(held(true, allSlots()[:5]...), held(false, 6)...), want: 5},
		{name: "an isolated run shares the slot fewest hold", isolated: true,
			states: append(append(held(false, allSlots()...), held(true, allSlots()[:4]...)...), held(false, 9)...), want: 4},
		{name: "an isolated run shares with leftovers too", isolated: true, states: held(false, allSlots()[1:]...), taken: []int{0, 0}, want: 1},
		{name: "an isolated run takes an unheld slot first", isolated: true, states: held(false, 0, 1), want: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pickSlot(tc.states, tc.isolated, tc.taken)
			if tc.want < 0 {
				require.Error(t, err)
				assert.Contains(t, err.Error(), fmt.Sprintf("all %d address slots are taken", Slots))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// Claim records whether a run is isolated, so that later claims know
// whether its slot is theirs to avoid; with every slot taken, an isolated
// run still gets one and a clashing run is refused.
func TestClaimSharesSlotsOnlyBetweenIsolatedRuns(t *testing.T) {
	useStateDir(t, t.TempDir())
	spec := validSpec()
	spec.Normalize()
	var runs []*Run
	for i := range Slots {
		r, err := Claim(&spec, "docker", false, nil)
		require.NoError(t, err)
		assert.Equal(t, i, r.Slot)
		runs = append(runs, r)
	}
	_, err := Claim(&spec, "docker", false, nil)
	require.Error(t, err, "a clashing run needs a slot of its own")
	iso, err := Claim(&spec, "netns", true, nil)
	require.NoError(t, err, "an isolated run shares a slot")
	assert.Equal(t, 0, iso.Slot)
	states, err := ListStates()
	require.NoError(t, err)
	assert.Contains(t, states, iso.State)
	assert.True(t, iso.State.Isolated)

	require.NoError(t, runs[3].Release())
	again, err := Claim(&spec, "docker", false, nil)
	require.NoError(t, err, "slot 3 is held by no clashing run any more")
	assert.Equal(t, 3, again.Slot)
}
