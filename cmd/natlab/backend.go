package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/natlab/natlab/docker"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/netns"
)

// backendNames are the values of --testbed.
const backendNames = "auto, netns or docker"

// What each backend needs, for the messages that say it is missing.
const (
	netnsNeeds  = "--testbed netns needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN): run natlab with sudo"
	dockerNeeds = "--testbed docker needs a reachable Docker engine (its socket, e.g. through membership of the docker group, or DOCKER_HOST) and a state directory natlab can write"
)

// dockerWait bounds how long natlab waits for the docker engine to answer.
const dockerWait = 15 * time.Second

// newBackend picks the testbed backend: netns as root (the fastest, and
// what CI uses), docker otherwise when it can work for this user.
func newBackend(name string) (testbed.Backend, error) {
	switch name {
	case "auto":
		if os.Geteuid() == 0 {
			return netns.New(netns.Options{}), nil
		}
		if err := dockerUsable(); err != nil {
			return nil, fmt.Errorf("no testbed backend works for this user (uid %d):\n  %s\n  %s: %w", os.Geteuid(), netnsNeeds, dockerNeeds, err)
		}
		return docker.New(docker.Options{}), nil
	case "netns":
		if os.Geteuid() != 0 {
			return nil, fmt.Errorf("%w (--testbed docker works without root)", testbed.ErrNotRoot)
		}
		return netns.New(netns.Options{}), nil
	case "docker":
		if err := dockerUsable(); err != nil {
			return nil, fmt.Errorf("%s: %w", dockerNeeds, err)
		}
		return docker.New(docker.Options{}), nil
	}
	return nil, inputErr(fmt.Errorf("--testbed %q: valid backends are %s", name, backendNames))
}

// dockerUsable says why the docker backend cannot work for this process:
// the engine does not answer, or runs cannot be recorded.
func dockerUsable() error {
	ctx, cancel := context.WithTimeout(context.Background(), dockerWait)
	defer cancel()
	return errors.Join(docker.Check(ctx), testbed.CheckStateDir())
}

// cleanerOf returns the cleaner of the named backend from cls, or why this
// process cannot use it.
func cleanerOf(ctx context.Context, cls []testbed.Cleaner, name string) (testbed.Cleaner, error) {
	for _, c := range cls {
		if c.Name() == name {
			return c, nil
		}
	}
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
// remove: netns as root, docker when its engine answers. Without either
// there is nothing clean could do.
func cleaners(ctx context.Context) ([]testbed.Cleaner, error) {
	var cls []testbed.Cleaner
	if os.Geteuid() == 0 {
		cls = append(cls, netns.New(netns.Options{}))
	}
	dctx, cancel := context.WithTimeout(ctx, dockerWait)
	defer cancel()
	err := docker.Check(dctx)
	if err == nil {
		cls = append(cls, docker.New(docker.Options{}))
	}
	if len(cls) == 0 {
		return nil, fmt.Errorf("natlab can remove nothing as this user (uid %d):\n  namespaces: %s\n  containers and networks: %s: %w", os.Geteuid(), netnsNeeds, dockerNeeds, err)
	}
	return cls, nil
}
