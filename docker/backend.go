package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/testcontainers/testcontainers-go"

	"github.com/natlab/natlab/testbed"
)

// DefaultRuntimeDir holds a directory per run and host, bind-mounted into
// the host's container at /run/natlab, where its agents' sockets live: the
// docker directory in the state directory (/run/natlab/docker as root),
// which the runner's user can write.
// It is empty when there is no state directory.
func DefaultRuntimeDir() string {
	if testbed.StateDir == "" {
		return ""
	}
	return filepath.Join(testbed.StateDir, "docker")
}

// socketDir is where a host's runtime directory is mounted in its container.
const socketDir = "/run/natlab"

// readonlyPaths are docker's default read-only paths less /proc/sys.
var readonlyPaths = []string{"/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sysrq-trigger"}

// Options configure the docker backend.
type Options struct {
	// Image is an agent image to use as is (natlab at /natlab). By
	// default one is built from Binary and cached by its content hash.
	Image string
	// Binary is the static natlab binary the image holds; by default the
	// running binary when static, else one built from the source tree.
	Binary string
	// RuntimeDir replaces DefaultRuntimeDir().
	RuntimeDir string
}

// Backend makes every host of a run a docker container.
type Backend struct {
	opts Options

	mu         sync.Mutex
	cli        *testcontainers.DockerClient
	run        *testbed.Run
	dir        string   // this run's runtime directory
	networks   []string // ids, in creation order
	containers []string // ids, in creation order
}

var _ testbed.Backend = (*Backend)(nil)

// New returns a docker backend.
func New(opts Options) *Backend {
	if opts.RuntimeDir == "" {
		opts.RuntimeDir = DefaultRuntimeDir()
	}
	return &Backend{opts: opts}
}

// Name is "docker".
func (b *Backend) Name() string { return "docker" }

// Create builds (or finds) the agent image, then makes the run's networks
// and one container per host, created but not started: StartAgent starts
// them. Everything made is recorded before the next step can fail.
func (b *Backend) Create(ctx context.Context, run *testbed.Run) ([]testbed.Host, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.run = run
	nets, plans, err := planRun(run.Layout)
	if err != nil {
		return nil, err
	}
	if b.cli, err = newClient(ctx); err != nil {
		return nil, err
	}
	image, err := b.image(ctx)
	if err != nil {
		return nil, err
	}
	if b.opts.RuntimeDir == "" {
		return nil, errors.New("no runtime directory for the agents' sockets: there is no state directory")
	}
	b.dir = filepath.Join(b.opts.RuntimeDir, run.ID)
	if err := os.MkdirAll(b.dir, 0o700); err != nil {
		return nil, fmt.Errorf("create runtime dir: %w", err)
	}
	netIDs := map[string]string{}
	for _, n := range nets {
		id, err := b.createNetwork(ctx, n)
		if err != nil {
			return nil, err
		}
		netIDs[n.Key] = id
	}
	var hosts []testbed.Host
	for _, p := range plans {
		h, err := b.createHost(ctx, image, p, netIDs)
		if h != nil {
			hosts = append(hosts, h)
		}
		if err != nil {
			return hosts, err
		}
	}
	return hosts, ctx.Err()
}

// image returns the agent image, building it when needed.
func (b *Backend) image(ctx context.Context) (string, error) {
	if b.opts.Image != "" {
		return b.opts.Image, nil
	}
	bin := b.opts.Binary
	if bin == "" {
		path, cleanup, err := StaticBinary(ctx)
		if err != nil {
			return "", err
		}
		defer cleanup()
		bin = path
	} else if static, err := IsStatic(bin); err != nil {
		return "", err
	} else if !static {
		return "", fmt.Errorf("agent binary %s is dynamically linked: build it with CGO_ENABLED=0", bin)
	}
	return EnsureImage(ctx, b.cli, bin, b.run.ID)
}

func (b *Backend) createNetwork(ctx context.Context, n netPlan) (string, error) {
	name := resourceName(b.run.ID, n.Key)
	resp, err := b.cli.NetworkCreate(ctx, name, network.CreateOptions{
		Driver: "bridge",
		// Not internal: docker's isolation rules for internal networks
		// drop bridged packets whose source or destination is outside the
		// subnet (br_netfilter passes them through iptables), which is
		// every packet the NAT routes. Nothing leaves the host all the
		// same: the bridge holds no IPv4 address, nothing is masqueraded,
		// and net.setup removes the default route docker gives containers.
		Options: map[string]string{
			"com.docker.network.bridge.inhibit_ipv4":         "true",
			"com.docker.network.bridge.enable_ip_masquerade": "false",
		},
		IPAM: &network.IPAM{Config: []network.IPAMConfig{{
			Subnet:  n.Subnet.String(),
			Gateway: n.Gateway.String(),
		}}},
		Labels: runLabels(b.run),
	})
	if err != nil {
		return "", fmt.Errorf("create network %s (%s): %w", name, n.Subnet, err)
	}
	b.networks = append(b.networks, resp.ID)
	return resp.ID, nil
}

// createHost creates p's container on its first network with testcontainers-go
// and connects it to the others, each with its planned address.
func (b *Backend) createHost(ctx context.Context, image string, p hostPlan, netIDs map[string]string) (*host, error) {
	dir := filepath.Join(b.dir, p.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create runtime dir of %s: %w", p.Name, err)
	}
	first := p.Networks[0]
	firstName := resourceName(b.run.ID, first.Net)
	labels := runLabels(b.run)
	labels[LabelHost] = p.Name
	labels[LabelRole] = string(p.Role)
	// The image's entrypoint is `/natlab agent`: the container's first
	// process is the init, which holds its namespaces while the agents,
	// started in it with docker exec, come and go.
	req := testcontainers.ContainerRequest{
		Image:    image,
		Name:     resourceName(b.run.ID, p.Name),
		Cmd:      []string{"init", "--host", p.Name, "--run", b.run.ID, "--listen", "unix:" + socketDir + "/" + initSocket},
		Labels:   labels,
		Networks: []string{firstName},
		HostConfigModifier: func(hc *container.HostConfig) {
			hc.NetworkMode = container.NetworkMode(firstName)
			hc.Binds = []string{dir + ":" + socketDir}
			// Agents manage links, addresses, routes and nftables, and
			// write net.* sysctls: NET_ADMIN, and /proc/sys left writable
			// (docker's other read-only paths and masks stay). Privileged
			// is not used: it fails where docker itself runs without every
			// capability.
			hc.CapAdd = []string{"NET_ADMIN", "NET_RAW"}
			hc.ReadonlyPaths = readonlyPaths
		},
		EndpointSettingsModifier: func(es map[string]*network.EndpointSettings) {
			if e := es[firstName]; e != nil {
				e.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: first.IP.String()}
			}
		},
	}
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: req,
		Started:          false,
		Logger:           tcLogger{b.run.Log},
	})
	if c != nil && c.GetContainerID() != "" {
		b.containers = append(b.containers, c.GetContainerID())
	}
	if err != nil {
		return nil, fmt.Errorf("create container for %s: %w", p.Name, err)
	}
	id := c.GetContainerID()
	for _, a := range p.Networks[1:] {
		err := b.cli.NetworkConnect(ctx, netIDs[a.Net], id, &network.EndpointSettings{
			IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: a.IP.String()},
		})
		if err != nil {
			return nil, fmt.Errorf("connect %s to %s: %w", p.Name, a.Net, err)
		}
	}
	return &host{b: b, name: p.Name, role: p.Role, id: id, dir: dir, setup: p.Setup}, nil
}

// Destroy removes the run's containers (killing their agents), networks
// and runtime directory, including any labelled with the run that Create
// did not get to record. The image stays cached. Calling it again is
// harmless.
func (b *Backend) Destroy(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.run == nil {
		return nil
	}
	if b.cli == nil {
		var err error
		if b.cli, err = newClient(ctx); err != nil {
			return err
		}
	}
	var errs []error
	for _, id := range b.containers {
		errs = append(errs, removeContainer(ctx, b.cli, id))
	}
	for i := len(b.networks) - 1; i >= 0; i-- {
		errs = append(errs, removeNetwork(ctx, b.cli, b.networks[i]))
	}
	b.containers, b.networks = nil, nil
	_, err := clean(ctx, b.cli, b.run.ID, b.opts.RuntimeDir)
	errs = append(errs, err)
	return errors.Join(errs...)
}
