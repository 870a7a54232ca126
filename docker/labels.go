package docker

import (
	"strconv"

	"github.com/natlab/natlab/testbed"
)

// Labels every natlab docker resource carries.
const (
	// LabelRun holds the id of the run that made a container or network
	// (for the image: of the run that built it).
	LabelRun = "natlab.run"
	// LabelHost holds a container's host name in the spec.
	LabelHost = "natlab.host"
	// LabelRole holds a container's role.
	LabelRole = "natlab.role"
	// LabelImage marks the agent image with its binary's content hash.
	LabelImage = "natlab.image"
	// LabelPID and LabelPIDStart name the process that made a run's
	// container or network (its pid, and its start time so that a
	// recycled pid is not taken for it): a run made by another user is
	// recorded in that user's state directory, which natlab clean of
	// another user cannot read, and must not be taken for a dead one.
	LabelPID      = "natlab.pid"
	LabelPIDStart = "natlab.pid_start"
	// LabelSlot holds the address slot of a run's network. Docker's
	// networks are global to the engine, so a slot is taken for every
	// user whatever state directory recorded it.
	LabelSlot = "natlab.slot"
)

// runLabels are the labels of every container and network of run.
func runLabels(run *testbed.Run) map[string]string {
	return map[string]string{
		LabelRun:      run.ID,
		LabelPID:      strconv.Itoa(run.State.PID),
		LabelPIDStart: run.State.Start,
		LabelSlot:     strconv.Itoa(run.Slot),
	}
}

// Prefix starts the name of every container and network natlab makes:
// natlab-RUNID-HOST and natlab-RUNID-NET.
const Prefix = "natlab-"

// ContainerName is the container of host in run runID.
func ContainerName(runID, host string) string { return resourceName(runID, host) }

// resourceName is the docker name of a run's host or network.
func resourceName(runID, name string) string { return Prefix + runID + "-" + name }
