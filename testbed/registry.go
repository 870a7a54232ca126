package testbed

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// StateDir holds one file per live run; DefaultStateDir chooses it. Tests
// may point it elsewhere.
var StateDir = DefaultStateDir()

// DefaultStateDir is where this process records its runs. Root always
// uses /run/natlab (on tmpfs: a reboot forgets runs together with their
// namespaces), whatever its environment says, so every root run is found
// there. Other users cannot write /run: they use $XDG_RUNTIME_DIR/natlab
// (tmpfs too, made per user at login), else $XDG_STATE_HOME/natlab, else
// ~/.local/state/natlab.
func DefaultStateDir() string {
	if os.Geteuid() == 0 {
		return "/run/natlab"
	}
	for _, env := range []string{"XDG_RUNTIME_DIR", "XDG_STATE_HOME"} {
		if d := os.Getenv(env); filepath.IsAbs(d) {
			return filepath.Join(d, "natlab")
		}
	}
	if home, err := os.UserHomeDir(); err == nil && filepath.IsAbs(home) {
		return filepath.Join(home, ".local", "state", "natlab")
	}
	return ""
}

// CheckStateDir makes sure runs can be recorded: the state directory
// exists (it is created) and its lock can be taken.
func CheckStateDir() error {
	if err := makeStateDir(); err != nil {
		return err
	}
	unlock, err := lockDir()
	if err != nil {
		return err
	}
	unlock()
	return nil
}

func makeStateDir() error {
	if StateDir == "" {
		return errors.New("no state directory: natlab records its runs in $XDG_RUNTIME_DIR/natlab or ~/.local/state/natlab, and none of XDG_RUNTIME_DIR, XDG_STATE_HOME and HOME is set")
	}
	if err := os.MkdirAll(StateDir, 0o755); err != nil {
		return fmt.Errorf("create state dir %s: %w", StateDir, err)
	}
	return nil
}

// Run is one run's identity: its id (carried by every resource it makes),
// its address slot and plan.
type Run struct {
	ID     string
	Slot   int
	Spec   *Spec
	Layout *Layout
	// Log receives the agents' own log lines, prefixed with the host.
	Log io.Writer
	// State is what the registry recorded of the run.
	State State
}

// State is what the registry records of a run so that `natlab clean` can
// tell live runs from what a killed one left.
type State struct {
	ID      string    `json:"id"`
	PID     int       `json:"pid"`
	Start   string    `json:"pid_start"`
	Slot    int       `json:"slot"`
	Backend string    `json:"backend"`
	Created time.Time `json:"created"`
	// Isolated says that no other run can clash with this one's addresses
	// (see Isolated), so its slot is no other run's concern. A state
	// written without it holds its slot against every run.
	Isolated bool `json:"isolated,omitempty"`
}

// Alive reports whether the process that made the run still runs (a
// zombie, exited but not yet reaped, does not). Without a PID it does not.
func (s State) Alive() bool {
	if s.PID <= 0 {
		return false
	}
	st, err := procStart(s.PID)
	return err == nil && st == s.Start
}

// Claim registers a new run of spec on backend: it picks an id and an
// address slot under a lock, plans the addresses and records the state.
// The slots in taken are not free either, whatever the registry says.
//
// A run needs a slot that no run it could clash with holds: a run that is
// not isolated (docker's networks are global to the engine) clashes with
// every other such run. An isolated run (netns: a fabric namespace of its
// own) clashes with no run, so when every slot is held it shares the one
// fewest runs hold instead of failing: the suite and several users can run
// more testbeds at once than there are slots. Either kind takes a slot no
// run holds at all when there is one, so that runs side by side show
// different addresses.
func Claim(spec *Spec, backend string, isolated bool, taken []int) (*Run, error) {
	if err := makeStateDir(); err != nil {
		return nil, err
	}
	unlock, err := lockDir()
	if err != nil {
		return nil, err
	}
	defer unlock()
	states, err := ListStates()
	if err != nil {
		return nil, err
	}
	slot, err := pickSlot(states, isolated, taken)
	if err != nil {
		return nil, err
	}
	layout, err := Plan(spec, slot)
	if err != nil {
		return nil, err
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	start, err := procStart(os.Getpid())
	if err != nil {
		return nil, err
	}
	st := State{ID: id, PID: os.Getpid(), Start: start, Slot: slot, Backend: backend, Created: time.Now().UTC(), Isolated: isolated}
	raw, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode run state: %w", err)
	}
	if err := os.WriteFile(statePath(id), raw, 0o644); err != nil {
		return nil, fmt.Errorf("record run state: %w", err)
	}
	return &Run{ID: id, Slot: slot, Spec: spec, Layout: layout, Log: io.Discard, State: st}, nil
}

// pickSlot chooses the slot of a new run (see Claim) among the recorded
// states and the slots a backend's leftovers hold.
func pickSlot(states []State, isolated bool, taken []int) (int, error) {
	holders := make([]int, Slots) // runs holding each slot
	blocked := make([]bool, Slots)
	for _, s := range taken {
		if s >= 0 && s < Slots {
			holders[s]++
			blocked[s] = !isolated
		}
	}
	for _, st := range states {
		if st.Slot < 0 || st.Slot >= Slots {
			continue
		}
		holders[st.Slot]++
		if !isolated && !st.Isolated {
			blocked[st.Slot] = true
		}
	}
	best := -1
	for i := range Slots {
		if !blocked[i] && (best < 0 || holders[i] < holders[best]) {
			best = i
		}
	}
	if best < 0 {
		return -1, fmt.Errorf("all %d address slots are taken by other runs; wait for them or run `natlab clean` to remove what killed runs left", Slots)
	}
	return best, nil
}

// Release forgets the run; call it once its resources are gone.
func (r *Run) Release() error {
	return Forget(r.ID)
}

// Forget removes a run's state file.
func Forget(id string) error {
	err := os.Remove(statePath(id))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("forget run %s: %w", id, err)
	}
	return nil
}

// ListStates returns every recorded run.
func ListStates() ([]State, error) {
	if StateDir == "" {
		return nil, nil
	}
	entries, err := os.ReadDir(StateDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	var out []State
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(StateDir, e.Name()))
		if err != nil {
			continue
		}
		var s State
		if json.Unmarshal(raw, &s) == nil && s.ID != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

func statePath(id string) string { return filepath.Join(StateDir, id+".json") }

func lockDir() (func(), error) {
	f, err := os.OpenFile(filepath.Join(StateDir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open run lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock runs: %w", err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func newID() (string, error) {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make run id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// procStart is the start time of a process in clock ticks since boot, so
// a recycled PID is not mistaken for the run's process.
func procStart(pid int) (string, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", fmt.Errorf("read process %d: %w", pid, err)
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", fmt.Errorf("parse /proc/%d/stat", pid)
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 {
		return "", fmt.Errorf("parse /proc/%d/stat", pid)
	}
	if fields[0] == "Z" || fields[0] == "X" {
		return "", fmt.Errorf("process %d has exited", pid)
	}
	return fields[19], nil
}
