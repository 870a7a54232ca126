package docker

import (
	"context"
	"fmt"
	"os"

	"github.com/testcontainers/testcontainers-go"
)

// newClient connects to the docker engine the way testcontainers-go finds
// it (DOCKER_HOST, docker context, the default socket). The Ryuk reaper is
// turned off: it would need a pulled image, and natlab removes what it
// made by label itself.
//
// When it finds no engine at all testcontainers-go panics (once per
// process; later calls get a client of the default host, whose ping
// fails): that is an unreachable engine, an error like any other.
func newClient(ctx context.Context) (cli *testcontainers.DockerClient, err error) {
	disableReaper()
	defer func() {
		if r := recover(); r != nil {
			cli, err = nil, fmt.Errorf("connect to docker: %v", r)
		}
	}()
	cli, err = testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to docker: %w", err)
	}
	if _, err := cli.Ping(ctx); err != nil {
		cli.Close()
		return nil, fmt.Errorf("connect to docker: %w", err)
	}
	return cli, nil
}

// disableReaper turns Ryuk off unless the user chose otherwise.
// testcontainers-go reads the setting from the environment once.
func disableReaper() {
	if _, set := os.LookupEnv("TESTCONTAINERS_RYUK_DISABLED"); !set {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
}

// Check reports whether the docker engine answers.
func Check(ctx context.Context) error {
	cli, err := newClient(ctx)
	if err != nil {
		return err
	}
	return cli.Close()
}
