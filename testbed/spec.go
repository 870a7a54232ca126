// Package testbed models the hosts of a natlab run (NAT boxes, client hosts,
// backends), plans their addresses, and defines the Host interface that the
// netns and docker backends implement.
package testbed

import (
	"time"

	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/testbed/natcfg"
	"github.com/natlab/natlab/testbed/service"
)

// Defaults applied by Spec.Normalize.
const (
	DefaultNATName  = "nat"
	DefaultBlock    = "clients"
	DefaultHold     = 120 * time.Second // Cloud NAT's TCP TIME_WAIT timeout
	MaxAddresses    = 4000              // source addresses one client host may carry
	MaxHostsPerRole = 64
)

// NAT modes.
const (
	// ModeLinux is a plain Linux NAT: a new SYN may evict a TIME_WAIT
	// conntrack entry on a tuple collision (Linux >= 6.5), so churn of
	// short connections is forgiven.
	ModeLinux = "linux"
	// ModeManaged emulates a managed NAT (Cloud NAT, AWS NAT gateway) that
	// holds a NAT port for Hold after its connection closes.
	ModeManaged = "managed"
)

// Port allocation schemes.
const (
	// AllocShared lets every source address use the whole pool.
	AllocShared = "shared"
	// AllocStatic gives each source address a fixed slice of PortsPerHost
	// ports (Cloud NAT "minimum ports per VM").
	AllocStatic = "static"
)

// Spec is the topology a run asks for. Zero values are filled in by
// Normalize; Validate reports every problem at once.
type Spec struct {
	NATs     []NATSpec     `json:"nats"`
	Blocks   []BlockSpec   `json:"blocks,omitempty"`
	Clients  []ClientSpec  `json:"clients"`
	Backends []BackendSpec `json:"backends"`
	// Apps are the app tiers (role app) behind the NATs; see AppSpec.
	Apps []AppSpec `json:"apps,omitempty"`
}

// NATSpec describes one NAT box.
type NATSpec struct {
	Name          string               `json:"name"`
	IPs           int                  `json:"ips"`
	Ports         portrange.Range      `json:"ports"`
	Mode          string               `json:"mode"`
	Hold          time.Duration        `json:"hold,omitempty"`
	PortSelection natcfg.PortSelection `json:"port_selection,omitempty"`
	Allocation    string               `json:"allocation"`
	PortsPerHost  int                  `json:"ports_per_host,omitempty"`
	// Pools splits the NAT IPs between origin blocks. Empty means one
	// shared pool of all IPs serving every block behind this NAT.
	Pools     []PoolSpec      `json:"pools,omitempty"`
	Sysctls   []natcfg.Sysctl `json:"sysctls,omitempty"`
	ConnLimit int             `json:"conn_limit,omitempty"`
	// Profile is the NAT's behaviour: ProfileLinux (the default) or a
	// managed NAT, ProfileGCPCloudNAT (whose settings are GCP) or
	// ProfileAWSNATGateway (whose settings are AWS).
	Profile string         `json:"profile,omitempty"`
	GCP     *GCPCloudNAT   `json:"gcp,omitempty"`
	AWS     *AWSNATGateway `json:"aws,omitempty"`
}

// PoolSpec gives some origin blocks their own NAT IPs.
type PoolSpec struct {
	Name   string   `json:"name"`
	IPs    int      `json:"ips"`
	Blocks []string `json:"blocks"`
}

// BlockSpec is an origin block: one client subnet routed through one NAT.
type BlockSpec struct {
	Name string `json:"name"`
	NAT  string `json:"nat"`
}

// ClientSpec is a client host carrying Addresses source addresses (one
// host can stand for the "500 servers" of an incident).
type ClientSpec struct {
	Name      string `json:"name"`
	Block     string `json:"block"`
	Addresses int    `json:"addresses"`
	// Role is RoleApp for the hosts of an app tier, which the address
	// plan lays out as hosts of their block; "" is a client host.
	Role Role `json:"role,omitempty"`
	// Standby is a host whose VMs have not started yet: on a
	// gcp-cloud-nat NAT its addresses get no ports until a vm-start
	// fault starts them (a scale-up or a deploy in its block).
	Standby bool `json:"standby,omitempty"`
}

// BackendSpec is a backend host serving one protocol on one port.
type BackendSpec struct {
	Name     string            `json:"name"`
	Protocol service.Protocol  `json:"protocol"`
	Port     uint16            `json:"port"`
	Extra    []BackendListener `json:"extra,omitempty"`
	// Processes is how many agent processes serve the host, each with
	// SO_REUSEPORT listeners on the same ports, so the host holds more
	// connections than one process may open files; 0 means one. The
	// scenario derives it from the connections a phase holds.
	Processes int `json:"processes,omitempty"`
	// Backlog is every listener's accept queue; 0 means DefaultBacklog.
	// A small one on purpose models a server that drops SYNs.
	Backlog int `json:"backlog,omitempty"`
	// Dependency is the standing capacity of the verification dependency
	// of the host's registrar and rendezvous listeners: lookups at once
	// and the latency of each (zero: unlimited, instant). A saturate
	// fault changes it live and restores it on revert.
	Dependency service.Dependency `json:"dependency,omitzero"`
	// VerifyTimeout bounds those listeners' verification (lookup and
	// probe); 0 means service.DefaultVerifyTimeout.
	VerifyTimeout time.Duration `json:"verify_timeout,omitempty"`
}

// DefaultBacklog is a backend's listen backlog when its spec sets none:
// deep enough for a SYN storm of a whole NAT IP's ports (the agent raises
// its namespace's net.core.somaxconn to it).
const DefaultBacklog = 65535

// MaxBackendProcesses bounds BackendSpec.Processes.
const MaxBackendProcesses = 64

// EffectiveProcesses is how many agent processes serve b.
func (b BackendSpec) EffectiveProcesses() int { return max(b.Processes, 1) }

// EffectiveBacklog is b's listen backlog.
func (b BackendSpec) EffectiveBacklog() int {
	if b.Backlog == 0 {
		return DefaultBacklog
	}
	return b.Backlog
}

// BackendListener is a further listener on the same backend host.
type BackendListener struct {
	Protocol service.Protocol `json:"protocol"`
	Port     uint16           `json:"port"`
}
