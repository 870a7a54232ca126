package netns

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
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

// RunIDOf extracts the run id from a natlab namespace name.
func RunIDOf(ns string) string {
	rest := strings.TrimPrefix(ns, Prefix)
	id, _, _ := strings.Cut(rest, "-")
	return id
}

// Clean removes every namespace of a run (all natlab namespaces when runID
// is empty), killing the processes inside first. It returns what it removed.
func Clean(runID string) ([]string, error) {
	names, err := Namespaces(runID)
	if err != nil {
		return nil, err
	}
	var errs []error
	var removed []string
	for _, n := range names {
		if err := deleteNamespace(n); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, n)
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
