package holepunch

import (
	"net/netip"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, m := range []Message{
		{Type: Punch, ID: 7, Client: netip.MustParseAddrPort("198.18.0.5:40000")},
		{Type: Punch, ID: 1 << 60, Client: netip.MustParseAddrPort("198.18.0.5:1"), Claimed: netip.MustParseAddrPort("198.19.0.1:65535")},
		{Type: Probe, ID: 3, Token: 9},
		{Type: Ack, ID: 3, Token: 9},
		{Type: Registered, ID: 3, Observed: netip.MustParseAddrPort("198.19.0.1:1024")},
		{Type: Refused, ID: 4, Observed: netip.MustParseAddrPort("198.19.0.1:2048")},
	} {
		b := m.Append(nil)
		if len(b) != Size {
			t.Fatalf("%+v: %d bytes, want %d", m, len(b), Size)
		}
		got, err := Parse(b)
		if err != nil || got != m {
			t.Errorf("Parse(Append(%+v)) = %+v, %v", m, got, err)
		}
	}
}

func TestParseRefusesOtherDatagrams(t *testing.T) {
	if _, err := Parse(make([]byte, Size-1)); err == nil {
		t.Error("a short datagram parsed")
	}
	b := Message{Type: Punch}.Append(nil)
	b[0] = 'x'
	if _, err := Parse(b); err == nil {
		t.Error("an unknown type parsed")
	}
}
