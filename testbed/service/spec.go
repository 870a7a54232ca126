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
)

// DefaultVerifyTimeout is how long the registrar waits for its dependency
// when Spec.VerifyTimeout is zero.
const DefaultVerifyTimeout = time.Second

// ErrInvalidSpec is wrapped by every error Spec.Validate returns.
var ErrInvalidSpec = errors.New("invalid server spec")

// Protocols lists every protocol a Spec may name, in a stable order.
func Protocols() []Protocol {
	return []Protocol{TCPEcho, HTTP1, H2C, UDPEcho, Registrar}
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
	if p == UDPEcho {
		return "udp"
	}
	return "tcp"
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
	// zero means DefaultVerifyTimeout. Only valid for the registrar.
	VerifyTimeout time.Duration `json:"verify_timeout,omitempty" yaml:"verify_timeout,omitempty"`
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
	if s.VerifyTimeout != 0 && s.Protocol != Registrar {
		return fmt.Errorf("%w: server %q: verify timeout applies to protocol %q only, not %q", ErrInvalidSpec, s.Name, Registrar, s.Protocol)
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
