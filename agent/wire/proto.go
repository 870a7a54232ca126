// Package wire is the protocol between the runner and the agents: JSON
// lines over one byte stream (an agent's stdin and stdout, or a unix
// socket), the same for the netns and docker backends. Both sides import
// it: the runner holds a Conn per agent process, an agent answers with
// Serve. Its payloads are plain types; nothing here touches the kernel.
//
// A request is {"id":N,"op":"...","args":{...}}; its answer is
// {"id":N,"result":{...}} or {"id":N,"error":"..."}. Lines with id 0 are
// events the agent sends on its own ({"event":"sample","data":{...}}).
// Requests run concurrently; answers may come in any order.
package wire

import (
	"encoding/json"

	"github.com/natlab/natlab/testbed/natcfg"
)

// message is every line of the protocol, in either direction.
type message struct {
	ID     uint64          `json:"id,omitempty"`
	Op     string          `json:"op,omitempty"`
	Args   json.RawMessage `json:"args,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
	Event  string          `json:"event,omitempty"`
	Data   json.RawMessage `json:"data,omitempty"`
}

// Event is an unsolicited message from an agent, such as a load sample.
type Event struct {
	Host string          `json:"host"`
	Name string          `json:"event"`
	Data json.RawMessage `json:"data"`
}

// RemoteError is an error an agent answered with.
type RemoteError struct {
	Host, Op, Msg string
}

func (e *RemoteError) Error() string { return e.Host + ": " + e.Op + ": " + e.Msg }

// Operations every role answers.
const (
	OpPing      = "ping"       // -> Hello
	OpSysctlSet = "sysctl.set" // []natcfg.Sysctl -> []natcfg.Sysctl (previous values)
	OpSysctlGet = "sysctl.get" // []string -> map[string]string
	OpLinkSet   = "link.set"   // LinkState
	OpLinkGet   = "link.get"   // string (interface) -> LinkState
)

// Operations of the nat role.
const (
	OpNATSetup    = "nat.setup"    // NATSetup
	OpNATApply    = "nat.apply"    // natcfg.Config (live change)
	OpNATMetrics  = "nat.metrics"  // -> natcfg.Metrics
	OpNATFlush    = "nat.flush"    // natcfg.FlushFilter -> int
	OpNATSnapshot = "nat.snapshot" // -> string
	// OpNATChange applies a config live with its effects on live
	// connections (natbox.Box.Change): natcfg.Config -> natcfg.ChangeResult.
	OpNATChange = "nat.change"
	// OpNATObserved counts the last change's effects so far -> natcfg.ChangeObserved.
	OpNATObserved = "nat.observed"
	// OpNATConfig returns the config in force -> natcfg.Config.
	OpNATConfig = "nat.config"
	// OpNATVMs starts and stops gcp-cloud-nat VMs live (natbox.Box.VMs):
	// natcfg.VMChange -> natcfg.VMResult.
	OpNATVMs = "nat.vms"

	OpDropInstall  = "drop.install"  // droprules.Spec
	OpDropRemove   = "drop.remove"   // chain name -> packets dropped
	OpDropSnapshot = "drop.snapshot" // -> string
)

// Operations of the backend role.
const (
	OpBackendStart   = "backend.start"   // []servers.Spec
	OpBackendStats   = "backend.stats"   // -> []servers.Stats
	OpBackendControl = "backend.control" // BackendControl
)

// Operations of the client role.
const (
	OpLoadRun  = "load.run"  // loadgen.Plan -> loadgen.Result; streams EventSample
	OpLoadStop = "load.stop" // ends running loads early -> int (how many)
)

// Operations of a docker host's init (`natlab agent init`): the
// container's pid 1, which holds its namespaces while agents come and go
// and serves no role. It also answers ping (role "init").
const (
	// OpAgentsKill SIGKILLs every other process of the container and
	// answers once none is left alive -> int (how many were killed).
	OpAgentsKill = "agents.kill"
)

// EventSample carries one loadgen.Sample.
const EventSample = "sample"

// Hello is the answer to ping.
type Hello struct {
	Host string `json:"host"`
	Role string `json:"role"`
	PID  int    `json:"pid"`
	// Instance is a random id the agent drew when it started: unlike the
	// pid it tells two agents apart across pid reuse and in containers,
	// where every container's first process is pid 1.
	Instance string `json:"instance"`
	Kernel   string `json:"kernel"`
}

// NATSetup is what a NAT agent applies at start: sysctls first (ip_forward
// among them), then the nftables config.
type NATSetup struct {
	Sysctls []natcfg.Sysctl `json:"sysctls"`
	Config  natcfg.Config   `json:"config"`
}

// LinkState is an interface's administrative state.
type LinkState struct {
	Interface string `json:"interface"`
	Up        bool   `json:"up"`
}

// BackendControl changes a backend server's behaviour live. Fields left
// nil are not changed.
type BackendControl struct {
	Server   string  `json:"server,omitempty"` // empty: every server of the host
	StallFor *string `json:"stall_for,omitempty"`
	Reset    *bool   `json:"reset,omitempty"`
	// Saturate caps the registrar's dependency: at most Limit concurrent
	// lookups, each taking Latency. Limit 0 lifts the cap.
	Saturate *Saturation `json:"saturate,omitempty"`
}

// BackendStatsArgs are the optional arguments of OpBackendStats.
type BackendStatsArgs struct {
	// ResetPeaks starts a new window for the dependency peak gauges
	// after the read, so the next read reports the peaks in between.
	ResetPeaks bool `json:"reset_peaks,omitempty"`
}

// Saturation is a dependency cap.
type Saturation struct {
	Limit   int    `json:"limit"`
	Latency string `json:"latency"`
}
