package main

import (
	"context"
	"fmt"
	"os"

	"github.com/natlab/natlab/docker"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/netns"
)

// backendNames are the values of --testbed.
const backendNames = "auto, netns or docker"

// newBackend picks the testbed backend: netns as root (the fastest, and
// what CI uses), docker otherwise (the engine must be reachable).
func newBackend(name string) (testbed.Backend, error) {
	switch name {
	case "auto":
		if os.Geteuid() == 0 {
			return netns.New(netns.Options{}), nil
		}
		return docker.New(docker.Options{}), nil
	case "netns":
		if os.Geteuid() != 0 {
			return nil, testbed.ErrNotRoot
		}
		return netns.New(netns.Options{}), nil
	case "docker":
		return docker.New(docker.Options{}), nil
	}
	return nil, inputErr(fmt.Errorf("--testbed %q: valid backends are %s", name, backendNames))
}

// cleanerOf returns the cleaner of the named backend, or why this process
// cannot use it.
func cleanerOf(ctx context.Context, name string) (testbed.Cleaner, error) {
	switch name {
	case "netns":
		if os.Geteuid() != 0 {
			return nil, testbed.ErrNotRoot
		}
		return netns.New(netns.Options{}), nil
	case "docker":
		if err := docker.Check(ctx); err != nil {
			return nil, err
		}
		return docker.New(docker.Options{}), nil
	}
	return nil, fmt.Errorf("unknown testbed backend %q", name)
}

// cleaners are the backends whose leftovers this process can see and
// remove: netns (root only) and docker when its engine answers.
func cleaners(ctx context.Context) ([]testbed.Cleaner, error) {
	if os.Geteuid() != 0 {
		return nil, testbed.ErrNotRoot
	}
	cls := []testbed.Cleaner{netns.New(netns.Options{})}
	if docker.Check(ctx) == nil {
		cls = append(cls, docker.New(docker.Options{}))
	}
	return cls, nil
}
