package testbed

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/internal/field"
	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/testbed/natcfg"
	"github.com/natlab/natlab/testbed/service"
)

func validSpec() Spec {
	return Spec{
		NATs:     []NATSpec{{IPs: 1, Ports: portrange.Range{First: 1024, Last: 1279}}},
		Clients:  []ClientSpec{{Name: "client", Addresses: 500}},
		Backends: []BackendSpec{{Name: "api", Protocol: service.HTTP1, Port: 8080}},
	}
}

func TestValidSpecPasses(t *testing.T) {
	s := validSpec()
	s.Normalize()
	require.NoError(t, s.Validate())
	assert.Equal(t, "nat", s.NATs[0].Name)
	assert.Equal(t, ModeLinux, s.NATs[0].Mode)
	assert.Equal(t, []BlockSpec{{Name: DefaultBlock, NAT: "nat"}}, s.Blocks)
}

// Bad topology input is refused with the field and what would be valid.
func TestSpecValidationErrors(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Spec)
		path   string
		want   string
	}{
		{"zero NAT IPs", func(s *Spec) { s.NATs[0].IPs = -1 }, "nats[0].ips", "between 1 and 100"},
		{"port range empty", func(s *Spec) { s.NATs[0].Ports = portrange.Range{First: 2000, Last: 1999} }, "nats[0].ports", "the range is empty: first port"},
		{"port zero", func(s *Spec) { s.NATs[0].Ports = portrange.Range{First: 0, Last: 100} }, "nats[0].ports", "within 1-65535"},
		{"unknown sysctl", func(s *Spec) { s.NATs[0].Sysctls = []natcfg.Sysctl{{Key: "net.ipv4.ip_forwrd", Value: "1"}} }, "nats[0].sysctls[0]", "no such key"},
		{"non-net sysctl", func(s *Spec) { s.NATs[0].Sysctls = []natcfg.Sysctl{{Key: "kernel.pid_max", Value: "1"}} }, "nats[0].sysctls[0]", "only net.* keys"},
		{"unknown mode", func(s *Spec) { s.NATs[0].Mode = "cloud" }, "nats[0].mode", `valid modes are "linux" and "managed"`},
		{"hold without managed", func(s *Spec) { s.NATs[0].Mode = ModeLinux; s.NATs[0].Hold = time.Second }, "nats[0].hold", "needs mode"},
		{"static without ports", func(s *Spec) { s.NATs[0].Allocation = AllocStatic }, "nats[0].ports_per_host", "at least 1"},
		{"static too big", func(s *Spec) { s.NATs[0].Allocation = AllocStatic; s.NATs[0].PortsPerHost = 300 }, "nats[0].ports_per_host", "do not fit"},
		{"overlapping pools", func(s *Spec) {
			s.NATs[0].IPs = 2
			s.NATs[0].Pools = []PoolSpec{{Name: "a", IPs: 1, Blocks: []string{DefaultBlock}}, {Name: "b", IPs: 1, Blocks: []string{DefaultBlock}}}
		}, "nats[0].pools[1].blocks", "overlapping pools"},
		{"pools do not add up", func(s *Spec) {
			s.NATs[0].IPs = 3
			s.NATs[0].Pools = []PoolSpec{{Name: "a", IPs: 1, Blocks: []string{DefaultBlock}}}
		}, "nats[0].pools", "must add up"},
		{"too many addresses", func(s *Spec) { s.Clients[0].Addresses = 5000 }, "clients[0].addresses", "between 1 and 4000"},
		{"bad host name", func(s *Spec) { s.Clients[0].Name = "Client_1" }, "clients[0].name", "lowercase"},
		{"duplicate host", func(s *Spec) { s.Backends[0].Name = "client" }, "backends[0].name", "unique"},
		{"unknown protocol", func(s *Spec) { s.Backends[0].Protocol = "gopher" }, "backends[0]", "gopher"},
		{"unknown block nat", func(s *Spec) { s.Blocks = []BlockSpec{{Name: DefaultBlock, NAT: "nat9"}} }, "blocks[0].nat", `known NATs are "nat"`},
		{"no backends", func(s *Spec) { s.Backends = nil }, "backends", "at least one"},
		{"duplicate port", func(s *Spec) {
			s.Backends[0].Extra = []BackendListener{{Protocol: service.TCPEcho, Port: 8080}}
		}, "backends[0].extra[0].port", "already used"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := validSpec()
			tc.mutate(&s)
			requireFieldError(t, s, tc.path, tc.want)
		})
	}
}

// requireFieldError validates s and requires a field error at path whose
// message contains want, every problem being a field error.
func requireFieldError(t *testing.T, s Spec, path, want string) {
	t.Helper()
	s.Normalize()
	err := s.Validate()
	require.Error(t, err)
	fields, other := field.List(err)
	assert.Empty(t, other, "every problem is a field error")
	var found bool
	for _, fe := range fields {
		if fe.Path == path {
			found = true
			assert.Contains(t, fe.Msg, want)
		}
	}
	assert.True(t, found, "no error at %s in:\n%v", path, err)
}

// All problems are reported at once.
func TestValidationReportsEverything(t *testing.T) {
	s := validSpec()
	s.NATs[0].IPs = -1
	s.NATs[0].Ports = portrange.Range{First: 10, Last: 5}
	s.Clients[0].Addresses = -3
	s.Normalize()
	assert.Len(t, flatten(s.Validate()), 3)
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

func TestLayout(t *testing.T) {
	s := Spec{
		NATs:     []NATSpec{{IPs: 3, Ports: portrange.Range{First: 1024, Last: 1279}}},
		Clients:  []ClientSpec{{Name: "a", Addresses: 500}, {Name: "b", Block: "other", Addresses: 3}},
		Backends: []BackendSpec{{Name: "api", Protocol: service.HTTP1, Port: 80}, {Name: "db", Protocol: service.TCPEcho, Port: 5432}},
	}
	s.Normalize()
	require.NoError(t, s.Validate())
	l, err := Plan(&s, 2)
	require.NoError(t, err)
	assert.Equal(t, "198.19.226.0/24", l.Public.String())
	assert.Equal(t, "198.18.64.0/19", l.Clients.String())
	assert.Equal(t, []string{"198.19.226.1", "198.19.226.2", "198.19.226.3"}, strs(l.NATs[0].IPs))
	assert.Equal(t, "198.19.226.129", l.Backends[0].Addr.String())
	require.Len(t, l.Hosts, 2)
	a := l.Hosts[0]
	assert.Len(t, a.Sources, 500)
	blockA, _ := l.Block(DefaultBlock)
	for _, src := range a.Sources {
		assert.True(t, blockA.Prefix.Contains(src), "%s outside %s", src, blockA.Prefix)
		assert.True(t, a.Prefix.Contains(src))
		assert.False(t, blockA.Link.Contains(src), "sources must not overlap the link net")
	}
	assert.True(t, blockA.Link.Contains(a.Link))
	blockB, _ := l.Block("other")
	assert.False(t, blockA.Prefix.Overlaps(blockB.Prefix))
	assert.True(t, l.Clients.Contains(blockB.Prefix.Addr()))
	assert.Equal(t, []string{WANInterface, "lan0", "lan1"}, l.Interfaces("nat"))
	assert.Equal(t, []string{HostInterface}, l.Interfaces("api"))
	assert.Equal(t, []string{HostInterface}, l.Interfaces("b"))
	assert.Nil(t, l.Interfaces("nope"))
}

// Every slot's addresses lie in 198.18.0.0/15 and overlap no other
// slot's, and each slot holds the largest client host (4,000 addresses).
func TestSlotsAreDisjoint(t *testing.T) {
	s := Spec{
		NATs:     []NATSpec{{IPs: MaxNATIPs}},
		Clients:  []ClientSpec{{Name: "big", Addresses: MaxAddresses}},
		Backends: []BackendSpec{{Name: "api", Protocol: service.HTTP1, Port: 80}},
	}
	s.Normalize()
	require.NoError(t, s.Validate())
	space := netip.MustParsePrefix("198.18.0.0/15")
	var all []netip.Prefix
	for slot := range Slots {
		l, err := Plan(&s, slot)
		require.NoError(t, err, "slot %d", slot)
		require.Len(t, l.Hosts[0].Sources, MaxAddresses)
		for _, p := range []netip.Prefix{l.Clients, l.Public} {
			assert.True(t, space.Contains(p.Addr()) && p.Bits() >= space.Bits(), "slot %d: %s outside %s", slot, p, space)
			for _, q := range all {
				assert.False(t, p.Overlaps(q), "slot %d: %s overlaps %s of another slot", slot, p, q)
			}
		}
		all = append(all, l.Clients, l.Public)
	}
	assert.Equal(t, "198.19.192.0/19", all[len(all)-2].String(), "the last slot's client space")
	assert.Equal(t, "198.19.238.0/24", all[len(all)-1].String(), "the last slot's public subnet")
	_, err := Plan(&s, Slots)
	assert.ErrorContains(t, err, fmt.Sprintf("valid slots are 0-%d", Slots-1))
}

func strs[T interface{ String() string }](in []T) []string {
	var out []string
	for _, v := range in {
		out = append(out, v.String())
	}
	return out
}

// recordingBackend fails the test if anything is created.
type recordingBackend struct{ created bool }

func (b *recordingBackend) Name() string { return "recording" }
func (b *recordingBackend) Create(context.Context, *Run) ([]Host, error) {
	b.created = true
	return nil, errors.New("should not be called")
}
func (b *recordingBackend) Destroy(context.Context) error { return nil }

// Bad input is refused before anything is created or even claimed.
func TestUpRefusesBadInputBeforeCreatingAnything(t *testing.T) {
	useStateDir(t, t.TempDir())
	s := validSpec()
	s.NATs[0].IPs = 0
	s.NATs[0].Sysctls = []natcfg.Sysctl{{Key: "net.ipv4.no_such_key", Value: "1"}}
	be := &recordingBackend{}
	_, err := Up(context.Background(), s, be, Options{})
	var ie *InputError
	require.ErrorAs(t, err, &ie)
	assert.Contains(t, err.Error(), "nats[0].ips")
	assert.Contains(t, err.Error(), "net.ipv4.no_such_key")
	assert.False(t, be.created, "nothing may be created for bad input")
	states, err := ListStates()
	require.NoError(t, err)
	assert.Empty(t, states, "no run may be claimed for bad input")
}

// Static slices that cannot fit are refused by Validate, before any
// namespace exists (they used to surface when the NAT was set up).
func TestStaticSlicesMustFit(t *testing.T) {
	s := validSpec()
	s.NATs[0].Allocation, s.NATs[0].PortsPerHost = AllocStatic, 64 // 256 ports: 4 slices
	s.Clients[0].Addresses = 10
	s.Normalize()
	fields, other := field.List(s.Validate())
	require.Empty(t, other)
	require.Len(t, fields, 1)
	assert.Equal(t, "nats[0].ports_per_host", fields[0].Path)
	assert.Equal(t, `static slices of 64 ports do not fit pool "shared": it serves 11 source addresses (the 10 addresses and the link address of 1 client host), `+
		`but 1 NAT IP x 256 ports (1024-1279) hold 4 slices: want ports_per_host at most 23, a wider ports range or more ips`, fields[0].Msg)

	s.NATs[0].PortsPerHost = 23
	require.NoError(t, s.Validate(), "the suggested ports_per_host fits")
	l, err := Plan(&s, 3)
	require.NoError(t, err)
	_, err = NATConfig(&s, l, "nat")
	require.NoError(t, err, "and the NAT config is made of it")
}

// Sysctl values are checked by the shape of their key; '-' lets a key fail.
func TestSysctlValuesAreChecked(t *testing.T) {
	s := validSpec()
	s.NATs[0].Sysctls = []natcfg.Sysctl{
		{Key: "net.ipv4.ip_forward", Value: "banana"},
		{Key: "net.netfilter.nf_conntrack_tcp_timeout_time_wait", Value: "30"},
		{Key: "net.ipv4.no_such_key", Value: "1", IgnoreError: true},
	}
	s.Normalize()
	fields, _ := field.List(s.Validate())
	require.Len(t, fields, 1)
	assert.Equal(t, "nats[0].sysctls[0]", fields[0].Path)
	assert.Contains(t, fields[0].Msg, "want 0 or 1 (a switch)")
}
