package testbed

import (
	"errors"
	"fmt"
	"time"

	"github.com/natlab/natlab/internal/field"
	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/testbed/natcfg"
)

// ProfileAWSNATGateway is AWS's public NAT gateway.
const ProfileAWSNATGateway = natcfg.ProfileAWSNATGateway

// AWS NAT gateway's documented limits and defaults (docs/nat-profiles.md
// cites them).
const (
	AWSMaxNATIPs                           = natcfg.AWSMaxNATIPs
	AWSDefaultMaxConnectionsPerDestination = natcfg.AWSDefaultMaxConnectionsPerDestination
	AWSDefaultIdleTimeoutSec               = 350
)

// AWSPorts are the ports a NAT gateway uses, 1024-65535; a scenario may
// narrow them (ports:) to run out of ports quickly.
var AWSPorts = portrange.Range{First: 1024, Last: 65535}

// AWSNATGateway are the settings of profile aws-nat-gateway. Zero means
// unset (the default). The NAT IPs are the NAT's count (nat_ips).
type AWSNATGateway struct {
	// MaxConnectionsPerDestination caps the simultaneous connections of
	// one NAT IP to one destination ip:port:protocol (55,000 at AWS; a
	// test scales it down).
	MaxConnectionsPerDestination int `json:"max_connections_per_destination,omitempty"`
	// IdleTimeoutSec is how long a connection may stay idle before the
	// gateway resets it (350 at AWS; a test scales it down).
	IdleTimeoutSec int `json:"idle_timeout_sec,omitempty"`
}

func (a *AWSNATGateway) normalize() {
	if a.MaxConnectionsPerDestination == 0 {
		a.MaxConnectionsPerDestination = AWSDefaultMaxConnectionsPerDestination
	}
	if a.IdleTimeoutSec == 0 {
		a.IdleTimeoutSec = AWSDefaultIdleTimeoutSec
	}
}

// validateAWS checks an aws-nat-gateway NAT; p is its path ("nats[0]").
func validateAWS(p string, n NATSpec) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, field.Errorf(p+"."+key, format, args...))
	}
	errs = append(errs, refuseLinuxKeys(p, ProfileAWSNATGateway, []linuxKey{
		{"mode", n.Mode != "", "a NAT gateway holds no closed connection's port"},
		{"hold", n.Hold != 0, "a NAT gateway holds no closed connection's port"},
		{"allocation", n.Allocation != "", "a NAT gateway shares its ports between all clients"},
		{"ports_per_host", n.PortsPerHost != 0, "a NAT gateway shares its ports between all clients"},
		{"pools", len(n.Pools) > 0, "one NAT gateway serves every block behind it; for separate NAT IPs use one NAT per block"},
	})...)
	if n.IPs > AWSMaxNATIPs {
		bad("ips", "%d NAT IPs: a NAT gateway has at most %d (one primary and seven secondary IPv4 addresses)", n.IPs, AWSMaxNATIPs)
	}
	a := n.AWS
	if a == nil {
		return append(errs, field.Errorf(p, "profile %q has no settings: normalize the spec first", ProfileAWSNATGateway))
	}
	if a.MaxConnectionsPerDestination < 1 || a.MaxConnectionsPerDestination > AWSDefaultMaxConnectionsPerDestination {
		bad("max_connections_per_destination", "%d: want 1 to %d simultaneous connections per NAT IP to one destination (AWS documents %d; set it lower to scale a test down)",
			a.MaxConnectionsPerDestination, AWSDefaultMaxConnectionsPerDestination, AWSDefaultMaxConnectionsPerDestination)
	}
	if a.IdleTimeoutSec < 1 || a.IdleTimeoutSec > maxTimeoutSec {
		bad("idle_timeout_sec", "%d: want a number of seconds from 1 to %d (AWS documents %d)", a.IdleTimeoutSec, maxTimeoutSec, AWSDefaultIdleTimeoutSec)
	}
	return errs
}

// validateAWSSettingsOff refuses aws-nat-gateway settings on a NAT of
// another profile.
func validateAWSSettingsOff(p string, n NATSpec) []error {
	a := n.AWS
	if a == nil {
		return nil
	}
	var errs []error
	for _, s := range []struct {
		key string
		set bool
	}{{"max_connections_per_destination", a.MaxConnectionsPerDestination != 0}, {"idle_timeout_sec", a.IdleTimeoutSec != 0}} {
		if s.set {
			errs = append(errs, field.Errorf(p+"."+s.key, "%s is a setting of profile %q: set profile: %s", s.key, ProfileAWSNATGateway, ProfileAWSNATGateway))
		}
	}
	return errs
}

// awsNATConfig is the kernel config of an aws-nat-gateway NAT: one pool
// of every block behind it over all its NAT IPs.
func awsNATConfig(spec *NATSpec, l *Layout, nl NATLayout, name string) (natcfg.Config, error) {
	a := spec.AWS
	if a == nil {
		return natcfg.Config{}, errors.New("aws-nat-gateway: no settings (normalize the spec)")
	}
	pool := natcfg.Pool{Name: "nat-gateway", IPs: nl.IPs, Ports: spec.Ports}
	for _, b := range l.Blocks {
		if b.NAT == name {
			pool.Sources = append(pool.Sources, b.Prefix)
		}
	}
	if len(pool.Sources) == 0 {
		return natcfg.Config{}, fmt.Errorf("nat %s: no origin block behind it", name)
	}
	return natcfg.Config{
		WAN:           WANInterface,
		PortSelection: spec.PortSelection,
		ConnLimit:     spec.ConnLimit,
		Profile:       natcfg.ProfileAWSNATGateway,
		Pools:         []natcfg.Pool{pool},
		AWS: &natcfg.AWSConfig{
			MaxConnectionsPerDestination: a.MaxConnectionsPerDestination,
			IdleTimeout:                  time.Duration(a.IdleTimeoutSec) * time.Second,
		},
	}, nil
}
