package natcfg

import (
	"errors"
	"fmt"
	"time"
)

// ProfileAWSNATGateway is AWS's public NAT gateway: SNAT over up to eight
// NAT IPs, a cap of simultaneous connections per NAT IP to each unique
// destination, and an idle timeout after which the gateway resets the
// connection.
const ProfileAWSNATGateway = "aws-nat-gateway"

// AWS NAT gateway limits and defaults (docs/nat-profiles.md cites them).
const (
	// AWSMaxNATIPs is one primary and seven secondary IPv4 addresses.
	AWSMaxNATIPs = 8
	// AWSDefaultMaxConnectionsPerDestination is the documented 55,000
	// simultaneous connections per NAT IP to each unique destination.
	AWSDefaultMaxConnectionsPerDestination = 55000
	// AWSDefaultIdleTimeout is the documented 350 s idle timeout.
	AWSDefaultIdleTimeout = 350 * time.Second
	// DefaultAWSInterval is how often the idle-timeout loop reads conntrack.
	DefaultAWSInterval = 200 * time.Millisecond
)

// AWSConfig is the kernel side of the aws-nat-gateway profile. The NAT IPs
// and ports are the single pool's.
type AWSConfig struct {
	// MaxConnectionsPerDestination caps the simultaneous connections of
	// one NAT IP to one destination ip:port:protocol.
	MaxConnectionsPerDestination int `json:"max_connections_per_destination"`
	// IdleTimeout is how long an established TCP connection may carry no
	// packet before the gateway resets it (both sides), and how long an
	// idle UDP flow keeps its mapping.
	IdleTimeout time.Duration `json:"idle_timeout"`
	// Interval is how often the control loop looks for idle connections
	// (0: DefaultAWSInterval).
	Interval time.Duration `json:"interval,omitempty"`
}

// AWSMetrics are the NAT gateway's CloudWatch metrics (namespace
// AWS/NATGateway), cumulative counts except ActiveConnectionCount.
type AWSMetrics struct {
	// ErrorPortAllocation counts connections the gateway could not give
	// a source port: over the cap to their destination on the NAT IP, or
	// out of ports; each connection (client 5-tuple) once, however often
	// its SYN is retransmitted.
	ErrorPortAllocation uint64
	// PacketsDropCount counts packets the gateway dropped: every packet
	// of a connection refused a port, the packets of idle-timed-out
	// connections it answered with RST, and the kernel's conntrack drops.
	PacketsDropCount uint64
	// ActiveConnectionCount is the translated TCP connections open now
	// (those in TIME_WAIT or CLOSE left out).
	ActiveConnectionCount int
	// ConnectionAttemptCount counts new TCP connections (client 5-tuple,
	// once) that reached the gateway, those refused a port included.
	ConnectionAttemptCount uint64
	// ConnectionEstablishedCount counts translated TCP connections whose
	// destination answered the SYN.
	ConnectionEstablishedCount uint64
	// IdleTimeoutCount counts connections the gateway timed out idle and
	// reset.
	IdleTimeoutCount uint64
	// ControlError is what went wrong in the control loop's last round,
	// if anything did.
	ControlError string `json:",omitempty"`
}

// validateAWS checks the aws-nat-gateway part of a config.
func (c Config) validateAWS() []error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(ProfileAWSNATGateway+": "+format, args...))
	}
	a := c.AWS
	if a == nil {
		return []error{errors.New(ProfileAWSNATGateway + ": the profile needs its settings (AWS)")}
	}
	if a.MaxConnectionsPerDestination < 1 || a.MaxConnectionsPerDestination > AWSDefaultMaxConnectionsPerDestination {
		add("max connections per destination %d: want 1 to %d", a.MaxConnectionsPerDestination, AWSDefaultMaxConnectionsPerDestination)
	}
	if a.IdleTimeout < time.Second {
		add("idle timeout %s: want at least 1s", a.IdleTimeout)
	}
	if a.Interval < 0 {
		add("interval %s: must not be negative", a.Interval)
	}
	if c.Hold != 0 {
		add("hold %s: the profile holds no closed ports", c.Hold)
	}
	if len(c.Pools) != 1 {
		add("%d pools: the gateway has one pool of NAT IPs", len(c.Pools))
		return errs
	}
	p := c.Pools[0]
	if n := len(p.IPs); n > AWSMaxNATIPs {
		add("%d NAT IPs: a NAT gateway has at most %d (one primary, seven secondary)", n, AWSMaxNATIPs)
	}
	if len(p.Slices) > 0 {
		add("pool %q has slices: the gateway shares its ports", p.Name)
	}
	return errs
}

// AWSLimit is the ct count ceiling per NAT IP and destination: the cap,
// or fewer when the port range holds fewer ports (a port per connection
// to one destination).
func (c Config) AWSLimit() int {
	if c.AWS == nil || len(c.Pools) == 0 {
		return 0
	}
	return min(c.AWS.MaxConnectionsPerDestination, c.Pools[0].Ports.Size())
}
