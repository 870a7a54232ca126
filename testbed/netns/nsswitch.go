// Package netns is the network-namespace backend of the testbed: every host
// is a named network namespace (visible to `ip netns`), wired through a
// per-run fabric namespace that holds the bridges, so nothing of a run
// touches the initial namespace.
package netns

import (
	"fmt"
	"os/exec"
	"runtime"

	"github.com/vishvananda/netns"
)

// inNS runs fn on an OS thread switched into target and switches back.
// This is the only place natlab changes a thread's namespace. If the thread
// cannot be switched back it stays locked, so the Go runtime retires it
// instead of handing a thread in the wrong namespace to other goroutines.
func inNS(target netns.NsHandle, fn func() error) error {
	runtime.LockOSThread()
	origin, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("get current netns: %w", err)
	}
	defer origin.Close()
	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter netns: %w", err)
	}
	fnErr := fn()
	if err := netns.Set(origin); err != nil {
		// Leave the thread locked: it dies with this goroutine.
		return fmt.Errorf("restore netns: %w (after: %v)", err, fnErr)
	}
	runtime.UnlockOSThread()
	return fnErr
}

// Do runs fn on an OS thread switched into ns and switches the thread
// back, as inNS does: a socket fn opens (conntrack, netlink) stays in ns.
// Tests must not simply lock a thread, enter a namespace and let the thread
// die: an agent forked from that thread gets its parent-death signal.
func Do(ns netns.NsHandle, fn func() error) error { return inNS(ns, fn) }

// StartIn starts cmd from a thread inside ns, so the process and every
// socket it opens live in that namespace; the caller's threads stay where
// they are. Agents start this way; so can any process a test or benchmark
// wants to run natively inside a host.
func StartIn(ns netns.NsHandle, cmd *exec.Cmd) error { return inNS(ns, cmd.Start) }

// newNamed creates a network namespace bound at /run/netns/name and
// returns a handle to it, leaving the calling thread where it was.
func newNamed(name string) (netns.NsHandle, error) {
	runtime.LockOSThread()
	origin, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return netns.None(), fmt.Errorf("get current netns: %w", err)
	}
	defer origin.Close()
	h, createErr := netns.NewNamed(name) // switches this thread into it
	if err := netns.Set(origin); err != nil {
		if createErr == nil {
			h.Close()
		}
		return netns.None(), fmt.Errorf("restore netns after creating %s: %w", name, err)
	}
	runtime.UnlockOSThread()
	if createErr != nil {
		return netns.None(), fmt.Errorf("create netns %s: %w", name, createErr)
	}
	return h, nil
}
