package service

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// Protocol names what a server speaks.
type Protocol string

// The protocols a backend can serve.
const (
	// TCPEcho echoes every byte of a TCP connection back until EOF.
	TCPEcho Protocol = "tcp-echo"
	// HTTP1 serves the HTTP routes over HTTP/1.1 only.
	HTTP1 Protocol = "http1"
	// H2C serves the HTTP routes over cleartext HTTP/2 (prior knowledge)
	// and HTTP/1.1 on the same port.
	H2C Protocol = "h2c"
	// UDPEcho echoes every datagram back to its sender.
	UDPEcho Protocol = "udp-echo"
	// Registrar serves the HTTP routes plus POST /register, which verifies
	// the client's source address through a dependency and fails closed
	// (HTTP 503) when the verification times out.
	Registrar Protocol = "registrar"
	// Rendezvous is a UDP holepunch rendezvous service: a client's
	// holepunch datagram creates its NAT mapping, the service looks the
	// client up in its dependency, then verifies the mapping by probing
	// back through it, and registers the client or fails closed (see
	// agent/servers/rendezvous.go for the datagrams).
	Rendezvous Protocol = "rendezvous"
)

// DefaultVerifyTimeout is how long the registrar waits for its dependency
// when Spec.VerifyTimeout is zero.
const DefaultVerifyTimeout = time.Second

// ErrInvalidSpec is wrapped by every error Spec.Validate returns.
var ErrInvalidSpec = errors.New("invalid server spec")

// Protocols lists every protocol a Spec may name, in a stable order.
func Protocols() []Protocol {
	return []Protocol{TCPEcho, HTTP1, H2C, UDPEcho, Registrar, Rendezvous}
}

// Valid reports whether p is a protocol this package serves.
func (p Protocol) Valid() bool {
	for _, q := range Protocols() {
		if p == q {
			return true
		}
	}
	return false
}

// IsHTTP reports whether p serves the HTTP routes.
func (p Protocol) IsHTTP() bool {
	return p == HTTP1 || p == H2C || p == Registrar
}

// Network is the socket family p listens on: "tcp" or "udp".
func (p Protocol) Network() string {
	if p == UDPEcho || p == Rendezvous {
		return "udp"
	}
	return "tcp"
}

// HasDependency reports whether p verifies clients through a dependency
// (a verification timeout and a dependency capacity apply to it).
func (p Protocol) HasDependency() bool { return p == Registrar || p == Rendezvous }

// Dependency is the standing capacity of a server's verification
// dependency (the cache/database it looks clients up in).
type Dependency struct {
	// Concurrency is how many lookups run at once; 0 = unlimited.
	Concurrency int `json:"concurrency,omitempty" yaml:"concurrency,omitempty"`
	// Latency is how long each lookup takes.
	Latency time.Duration `json:"latency,omitempty" yaml:"latency,omitempty"`
}

// Spec describes one server.
type Spec struct {
	// Name identifies the server in stats and reports.
	Name string `json:"name" yaml:"name"`
	// Protocol is what the server speaks.
	Protocol Protocol `json:"protocol" yaml:"protocol"`
	// Addr is the listen address as ip:port, e.g. "0.0.0.0:8080";
	// port 0 picks a free port (see Server.Addr). Host names are refused.
	Addr string `json:"addr" yaml:"addr"`
	// VerifyTimeout bounds the registrar's source-address verification;
	// zero means DefaultVerifyTimeout. Only valid for the registrar and
	// the rendezvous service.
	VerifyTimeout time.Duration `json:"verify_timeout,omitempty" yaml:"verify_timeout,omitempty"`
	// Dependency is the standing capacity of the verification dependency
	// (zero: unlimited, no latency); a saturate fault changes it live.
	// Only valid where VerifyTimeout is.
	Dependency Dependency `json:"dependency,omitzero" yaml:"dependency,omitempty"`
	// ReusePort sets SO_REUSEPORT on the listener, so several processes
	// of one host can listen on the same ip:port and the kernel spreads
	// connections over them.
	ReusePort bool `json:"reuse_port,omitempty" yaml:"reuse_port,omitempty"`
	// Backlog is the TCP listen backlog (the accept queue); 0 keeps the
	// kernel's net.core.somaxconn. The kernel caps it at somaxconn.
	Backlog int `json:"backlog,omitempty" yaml:"backlog,omitempty"`
}

// Validate reports the first problem with s, wrapping ErrInvalidSpec.
func (s Spec) Validate() error {
	if s.Name == "" {
		return fmt.Errorf("%w: name is empty", ErrInvalidSpec)
	}
	if !s.Protocol.Valid() {
		return fmt.Errorf("%w: server %q: unknown protocol %q (valid: %v)", ErrInvalidSpec, s.Name, s.Protocol, Protocols())
	}
	if err := validateAddr(s.Addr); err != nil {
		return fmt.Errorf("%w: server %q: %w", ErrInvalidSpec, s.Name, err)
	}
	if s.VerifyTimeout < 0 {
		return fmt.Errorf("%w: server %q: verify timeout %v is negative", ErrInvalidSpec, s.Name, s.VerifyTimeout)
	}
	if s.Backlog < 0 {
		return fmt.Errorf("%w: server %q: backlog %d is negative", ErrInvalidSpec, s.Name, s.Backlog)
	}
	if s.VerifyTimeout != 0 && !s.Protocol.HasDependency() {
		return fmt.Errorf("%w: server %q: verify timeout applies to protocols %q and %q only, not %q", ErrInvalidSpec, s.Name, Registrar, Rendezvous, s.Protocol)
	}
	if s.Dependency.Concurrency < 0 || s.Dependency.Latency < 0 {
		return fmt.Errorf("%w: server %q: dependency concurrency %d and latency %v must not be negative", ErrInvalidSpec, s.Name, s.Dependency.Concurrency, s.Dependency.Latency)
	}
	if s.Dependency != (Dependency{}) && !s.Protocol.HasDependency() {
		return fmt.Errorf("%w: server %q: a dependency applies to protocols %q and %q only, not %q", ErrInvalidSpec, s.Name, Registrar, Rendezvous, s.Protocol)
	}
	return nil
}

// EffectiveVerifyTimeout is the effective verification timeout of s.
func (s Spec) EffectiveVerifyTimeout() time.Duration {
	if s.VerifyTimeout == 0 {
		return DefaultVerifyTimeout
	}
	return s.VerifyTimeout
}

// validateAddr checks that addr is "ip:port" or ":port" with a numeric port.
func validateAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q is not ip:port (e.g. \"0.0.0.0:8080\"): %w", addr, err)
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil {
			return fmt.Errorf("address %q: host must be an IP address, not a name", addr)
		}
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("address %q: port must be a number 0-65535", addr)
	}
	return nil
}
