package docker

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
)

// Prefix starts the name of every container and network natlab makes:
// natlab-RUNID-HOST and natlab-RUNID-NET.
const Prefix = "natlab-"

// ContainerName is the container of host in run runID.
func ContainerName(runID, host string) string { return resourceName(runID, host) }

// resourceName is the docker name of a run's host or network.
func resourceName(runID, name string) string { return Prefix + runID + "-" + name }
