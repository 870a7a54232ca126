package netns

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/natlab/natlab/testbed"
)

// bindDir is where named namespaces are bound (as `ip netns` does).
const bindDir = "/run/netns"

// Namespaces lists the natlab namespaces that exist, optionally only those
// of one run.
func Namespaces(runID string) ([]string, error) {
	entries, err := os.ReadDir(bindDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	prefix := Prefix
	if runID != "" {
		prefix = Prefix + runID + "-"
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// runIDOf extracts the run id from a natlab namespace name.
func runIDOf(ns string) string {
	rest := strings.TrimPrefix(ns, Prefix)
	id, _, _ := strings.Cut(rest, "-")
	return id
}

var _ testbed.Cleaner = (*Backend)(nil)

// Leftovers lists the runs that have namespaces.
func (b *Backend) Leftovers(context.Context) ([]testbed.State, error) {
	names, err := Namespaces("")
	if err != nil {
		return nil, err
	}
	var out []testbed.State
	seen := map[string]bool{}
	for _, n := range names {
		id := runIDOf(n)
		if !seen[id] {
			seen[id] = true
			// Each run has a fabric of its own: its addresses clash with
			// no other run's, so its namespaces hold no slot.
			out = append(out, testbed.State{ID: id, Backend: b.Name(), Slot: -1})
		}
	}
	return out, nil
}

// Clean removes every namespace of a run, killing the processes inside
// (its agents) first; with them go its veths, bridges, rules and
// namespaced sysctls. It needs root.
func (b *Backend) Clean(_ context.Context, runID string) ([]string, error) {
	if err := testbed.CheckRunID(runID); err != nil {
		return nil, err
	}
	names, err := Namespaces(runID)
	if err != nil {
		return nil, err
	}
	if len(names) > 0 && os.Geteuid() != 0 {
		return nil, testbed.ErrNotRoot
	}
	var errs []error
	var removed []string
	for _, n := range names {
		if err := deleteNamespace(n); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, "namespace "+n)
	}
	return removed, errors.Join(errs...)
}

// killIn sends SIGKILL to every process whose network namespace is the one
// bound at /run/netns/name, and waits briefly for them to go.
func killIn(name string) {
	var target syscall.Stat_t
	if err := syscall.Stat(filepath.Join(bindDir, name), &target); err != nil {
		return
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	self := os.Getpid()
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == self {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat(filepath.Join("/proc", p.Name(), "ns", "net"), &st) != nil {
			continue
		}
		if st.Ino == target.Ino && st.Dev == target.Dev {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
