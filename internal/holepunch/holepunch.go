// Package holepunch is the datagram format spoken between loadgen's
// holepunch strategy and the rendezvous server: one fixed-size message
// type for every step of a registration.
//
// A registration goes: the client sends Punch from its socket (creating
// its NAT mapping); the service looks the client up in its dependency,
// then sends Probe to the mapping it is verifying (the one the client
// claims, else the source it saw); the client answers Ack from the same
// socket; the service, seeing the Ack come from the probed mapping,
// answers Registered, or Refused when the lookup or the probe did not
// complete within its verify timeout (it fails closed). Registered and
// Refused carry the source the service saw, which the client remembers as
// its mapping and claims in its next Punch.
package holepunch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// Message types.
const (
	Punch      byte = 'P' // client -> service: register me
	Probe      byte = 'Q' // service -> mapping: are you there?
	Ack        byte = 'A' // client -> service: answer to a Probe
	Registered byte = 'R' // service -> client: verified and registered
	Refused    byte = 'F' // service -> client: verification failed, closed
)

// Size is the length of every message.
const Size = 1 + 8 + 8 + 3*6

// Message is one datagram. Unused fields are zero.
type Message struct {
	Type byte
	// ID names the registration request (Punch, and the Probe, Ack,
	// Registered or Refused that belong to it).
	ID uint64
	// Token pairs a Probe with its Ack.
	Token uint64
	// Client is the client's own (private) ip:port, in a Punch.
	Client netip.AddrPort
	// Claimed is the public ip:port the client believes is its mapping,
	// in a Punch; zero when it has not learned one yet.
	Claimed netip.AddrPort
	// Observed is the source the service saw, in Registered and Refused.
	Observed netip.AddrPort
}

// errBad is wrapped by every Parse error.
var errBad = errors.New("not a holepunch message")

// Append appends the encoded message to b. Addresses must be IPv4 or
// zero (the testbed is IPv4).
func (m Message) Append(b []byte) []byte {
	b = append(b, m.Type)
	b = binary.BigEndian.AppendUint64(b, m.ID)
	b = binary.BigEndian.AppendUint64(b, m.Token)
	for _, a := range []netip.AddrPort{m.Client, m.Claimed, m.Observed} {
		var ip [4]byte
		if a.IsValid() && a.Addr().Unmap().Is4() {
			ip = a.Addr().Unmap().As4()
		}
		b = append(b, ip[:]...)
		b = binary.BigEndian.AppendUint16(b, a.Port())
	}
	return b
}

// Parse decodes one message.
func Parse(b []byte) (Message, error) {
	if len(b) != Size {
		return Message{}, fmt.Errorf("%w: %d bytes, want %d", errBad, len(b), Size)
	}
	m := Message{Type: b[0], ID: binary.BigEndian.Uint64(b[1:9]), Token: binary.BigEndian.Uint64(b[9:17])}
	switch m.Type {
	case Punch, Probe, Ack, Registered, Refused:
	default:
		return Message{}, fmt.Errorf("%w: type %q", errBad, m.Type)
	}
	addrs := []*netip.AddrPort{&m.Client, &m.Claimed, &m.Observed}
	for i, a := range addrs {
		o := 17 + 6*i
		ip := netip.AddrFrom4([4]byte(b[o : o+4]))
		port := binary.BigEndian.Uint16(b[o+4 : o+6])
		if port != 0 || !ip.IsUnspecified() {
			*a = netip.AddrPortFrom(ip, port)
		}
	}
	return m, nil
}
