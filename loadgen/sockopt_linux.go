package loadgen

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// ipLocalPortRange is IP_LOCAL_PORT_RANGE (Linux >= 6.3), at SOL_IP.
const ipLocalPortRange = 51

// sockOpts are the per-socket options a strategy asks for.
type sockOpts struct {
	linger0     bool
	noPortBind  bool // IP_BIND_ADDRESS_NO_PORT: pick the port at connect time
	portLo      uint16
	portHi      uint16
	portRangeOn bool
	// userTimeoutMs is TCP_USER_TIMEOUT during the handshake (0 = none).
	userTimeoutMs int
}

// ErrPortRangeUnsupported is returned when the kernel lacks IP_LOCAL_PORT_RANGE.
var ErrPortRangeUnsupported = errors.New("per-socket local port range (IP_LOCAL_PORT_RANGE) needs Linux >= 6.3")

// apply sets the options on a raw socket; it is used as a net.Dialer.Control.
func (o sockOpts) apply(rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = o.set(int(fd))
	})
	if err != nil {
		return fmt.Errorf("set socket options: %w", err)
	}
	return serr
}

func (o sockOpts) set(fd int) error {
	if o.noPortBind {
		if err := unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1); err != nil {
			return fmt.Errorf("set IP_BIND_ADDRESS_NO_PORT: %w", err)
		}
	}
	if o.portRangeOn {
		v := int(uint32(o.portHi)<<16 | uint32(o.portLo))
		if err := unix.SetsockoptInt(fd, unix.SOL_IP, ipLocalPortRange, v); err != nil {
			if errors.Is(err, unix.ENOPROTOOPT) || errors.Is(err, unix.EINVAL) {
				return fmt.Errorf("set local port range %d-%d: %w: %w", o.portLo, o.portHi, ErrPortRangeUnsupported, err)
			}
			return fmt.Errorf("set local port range %d-%d: %w", o.portLo, o.portHi, err)
		}
	}
	if o.userTimeoutMs > 0 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, o.userTimeoutMs); err != nil {
			return fmt.Errorf("set TCP_USER_TIMEOUT %d ms: %w", o.userTimeoutMs, err)
		}
	}
	if o.linger0 {
		if err := unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}); err != nil {
			return fmt.Errorf("set SO_LINGER 0: %w", err)
		}
	}
	return nil
}

// probe checks on a throwaway socket that the kernel accepts the options, so
// an unsupported option fails the run up front rather than every attempt.
func (o sockOpts) probe(network string) error {
	typ := unix.SOCK_STREAM
	if network == "udp" {
		typ = unix.SOCK_DGRAM
	}
	fd, err := unix.Socket(unix.AF_INET, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("probe socket options: %w", err)
	}
	defer unix.Close(fd)
	return o.set(fd)
}

// endHandshake clears TCP_USER_TIMEOUT on an established connection: the
// SYN timeout bounds the handshake only, not the data that follows.
func (o sockOpts) endHandshake(c net.Conn) error {
	if o.userTimeoutMs == 0 {
		return nil
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return fmt.Errorf("clear TCP_USER_TIMEOUT: %w", err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, 0)
	}); err != nil {
		return fmt.Errorf("clear TCP_USER_TIMEOUT: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("clear TCP_USER_TIMEOUT: %w", serr)
	}
	return nil
}
