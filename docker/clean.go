package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/natlab/natlab/testbed"
)

// Resource is a container or network natlab made.
type Resource struct {
	Kind  string // "container" or "network"
	Name  string
	ID    string
	RunID string
	// Labels are the resource's docker labels.
	Labels map[string]string
}

func (r Resource) String() string { return r.Kind + " " + r.Name }

// Resources lists the containers and networks labelled with run runID,
// of every natlab run when runID is empty.
func Resources(ctx context.Context, runID string) ([]Resource, error) {
	cli, err := newClient(ctx)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	return list(ctx, cli, runID)
}

var _ testbed.Cleaner = (*Backend)(nil)

// Leftovers lists the runs that have containers or networks, with the
// process that made each and the address slot its networks hold, as
// their labels record them.
func (b *Backend) Leftovers(ctx context.Context) ([]testbed.State, error) {
	found, err := Resources(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []testbed.State
	index := map[string]int{}
	for _, r := range found {
		if r.RunID == "" {
			continue
		}
		i, ok := index[r.RunID]
		if !ok {
			i = len(out)
			index[r.RunID] = i
			out = append(out, testbed.State{ID: r.RunID, Backend: b.Name(), Slot: -1})
		}
		s := &out[i]
		if pid, err := strconv.Atoi(r.Labels[LabelPID]); err == nil && s.PID == 0 {
			s.PID, s.Start = pid, r.Labels[LabelPIDStart]
		}
		if slot, err := strconv.Atoi(r.Labels[LabelSlot]); err == nil && r.Kind == "network" {
			s.Slot = slot
		}
	}
	return out, nil
}

// Clean removes every container (killing its agents) and network of a
// run, and the run's runtime directory. The agent image stays cached.
func (b *Backend) Clean(ctx context.Context, runID string) ([]string, error) {
	if err := testbed.CheckRunID(runID); err != nil {
		return nil, err
	}
	cli, err := newClient(ctx)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	gone, err := clean(ctx, cli, runID, b.opts.RuntimeDir)
	var out []string
	for _, r := range gone {
		out = append(out, r.String())
	}
	return out, err
}

func clean(ctx context.Context, cli client.APIClient, runID, runtimeDir string) ([]Resource, error) {
	found, err := list(ctx, cli, runID)
	if err != nil {
		return nil, err
	}
	var errs []error
	var removed []Resource
	// Containers first: a network with endpoints cannot go.
	for _, kind := range []string{"container", "network"} {
		for _, r := range found {
			if r.Kind != kind {
				continue
			}
			if kind == "container" {
				err = removeContainer(ctx, cli, r.ID)
			} else {
				err = removeNetwork(ctx, cli, r.ID)
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			removed = append(removed, r)
		}
	}
	if runtimeDir != "" && runID != "" && !strings.ContainsAny(runID, "/.") {
		if err := os.RemoveAll(filepath.Join(runtimeDir, runID)); err != nil {
			errs = append(errs, fmt.Errorf("remove runtime dir of run %s: %w", runID, err))
		}
	}
	return removed, errors.Join(errs...)
}

// list finds the containers and networks labelled with runID (any run
// when empty).
func list(ctx context.Context, cli client.APIClient, runID string) ([]Resource, error) {
	label := LabelRun
	if runID != "" {
		label += "=" + runID
	}
	f := filters.NewArgs(filters.Arg("label", label))
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var out []Resource
	for _, c := range cs {
		name := c.ID
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		out = append(out, Resource{Kind: "container", Name: name, ID: c.ID, RunID: c.Labels[LabelRun], Labels: c.Labels})
	}
	ns, err := cli.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	for _, n := range ns {
		out = append(out, Resource{Kind: "network", Name: n.Name, ID: n.ID, RunID: n.Labels[LabelRun], Labels: n.Labels})
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out, nil
}

func removeContainer(ctx context.Context, cli client.APIClient, id string) error {
	err := cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w", short(id), err)
	}
	return nil
}

func removeNetwork(ctx context.Context, cli client.APIClient, id string) error {
	err := cli.NetworkRemove(ctx, id)
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove network %s: %w", short(id), err)
	}
	return nil
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
