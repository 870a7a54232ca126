package chaos

import (
	"context"
	"fmt"
	"net/netip"
	"sync/atomic"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/natlab/natlab/testbed"
)

var dropParams = []Param{
	{Name: "percent", Type: "int", Doc: "share of the packets the NAT forwards (both directions) dropped at random, 1-100"},
	{Name: "blackhole", Type: "backend, address or prefix", Doc: "drop every forwarded packet to or from it"},
}

var dropKind = Kind{
	Name: "drop",
	Summary: "drop packets the NAT box forwards: a random percent, or all to and from a blackholed backend or prefix " +
		"(rules in an nftables table of their own, " + chaosTable + "); revert removes them",
	Params: dropParams,
	New:    newDrop,
}

func newDrop(host string, params map[string]any) (Fault, error) {
	r := newReader(params, dropParams)
	f := &dropFault{host: host}
	if r.has("percent") == r.has("blackhole") {
		r.errorf("give either percent: 1-100 or blackhole: <backend, address or prefix>, not both or neither")
	}
	f.percent, _ = r.integer("percent", 1, 100)
	f.blackhole, _ = r.str("blackhole")
	if err := r.done(); err != nil {
		return nil, err
	}
	return f, nil
}

var chainSeq atomic.Uint64

// dropFault installs one chain in the chaos table of a NAT box.
type dropFault struct {
	host      string
	percent   int
	blackhole string

	chain    string
	before   string // the chaos table before the inject
	dropped  uint64
	injected bool
	reverted bool
}

func (f *dropFault) Describe() string {
	if f.blackhole != "" {
		return fmt.Sprintf("blackhole %s on %s", f.blackhole, f.host)
	}
	return fmt.Sprintf("drop %d%% of packets forwarded by %s", f.percent, f.host)
}

// Report gives the packets dropped, once reverted.
func (f *dropFault) Report() map[string]any {
	if !f.reverted {
		return nil
	}
	return map[string]any{"dropped_packets": f.dropped}
}

func (f *dropFault) rules(t *nftables.Table, ch *nftables.Chain, env Env) ([]*nftables.Rule, error) {
	counterDrop := []expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop}}
	if f.blackhole == "" {
		return []*nftables.Rule{{Table: t, Chain: ch, Exprs: append([]expr.Any{
			&expr.Numgen{Register: 1, Modulus: 100, Type: unix.NFT_NG_RANDOM},
			&expr.Byteorder{SourceRegister: 1, DestRegister: 1, Op: expr.ByteorderHton, Len: 4, Size: 4},
			&expr.Cmp{Op: expr.CmpOpLt, Register: 1, Data: binaryutil.BigEndian.PutUint32(uint32(f.percent))},
		}, counterDrop...)}}, nil
	}
	p, err := resolvePrefix(env, f.blackhole, "blackhole")
	if err != nil {
		return nil, err
	}
	if !p.Addr().Is4() {
		return nil, fmt.Errorf("blackhole %s: want an IPv4 address or prefix", f.blackhole)
	}
	var out []*nftables.Rule
	for _, offset := range []uint32{12, 16} { // source, destination address
		out = append(out, &nftables.Rule{Table: t, Chain: ch, Exprs: append(matchPrefix(offset, p), counterDrop...)})
	}
	return out, nil
}

// matchPrefix matches the IPv4 header address at offset against p.
func matchPrefix(offset uint32, p netip.Prefix) []expr.Any {
	var m [4]byte
	for i := 0; i < p.Bits(); i++ {
		m[i/8] |= 0x80 >> (i % 8)
	}
	a := p.Masked().Addr().As4()
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: m[:], Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a[:]},
	}
}

func (f *dropFault) Inject(ctx context.Context, env Env) error {
	if _, err := needRole(env, "drop", f.host, testbed.RoleNAT); err != nil {
		return err
	}
	nftMu.Lock()
	defer nftMu.Unlock()
	return withNFT(env, f.host, func(c *nftables.Conn) error {
		before, err := tableText(c)
		if err != nil {
			return fmt.Errorf("record %s on %s: %w", chaosTable, f.host, err)
		}
		name := fmt.Sprintf("drop%d", chainSeq.Add(1))
		t := c.AddTable(chaosTbl())
		accept := nftables.ChainPolicyAccept
		ch := c.AddChain(&nftables.Chain{Name: name, Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityRef(*nftables.ChainPriorityFilter - 5), Policy: &accept})
		rules, err := f.rules(t, ch, env)
		if err != nil {
			return err
		}
		for _, r := range rules {
			c.AddRule(r)
		}
		f.before, f.chain, f.injected = before, name, true
		if err := c.Flush(); err != nil {
			return fmt.Errorf("install drop rules on %s: %w", f.host, err)
		}
		return nil
	})
}

func (f *dropFault) Revert(_ context.Context, env Env) error {
	if !f.injected {
		return nil
	}
	nftMu.Lock()
	defer nftMu.Unlock()
	return withNFT(env, f.host, func(c *nftables.Conn) error {
		if n, err := chainPackets(c, f.chain); err == nil {
			f.dropped = n
		}
		if err := dropChain(c, f.chain); err != nil {
			return fmt.Errorf("remove drop rules on %s: %w", f.host, err)
		}
		f.injected, f.reverted = false, true
		return nil
	})
}

func (f *dropFault) Verify(_ context.Context, env Env) error {
	if f.chain == "" {
		return nil
	}
	nftMu.Lock()
	defer nftMu.Unlock()
	return withNFT(env, f.host, func(c *nftables.Conn) error {
		now, err := tableText(c)
		if err != nil {
			return fmt.Errorf("verify %s on %s: %w", chaosTable, f.host, err)
		}
		if now != f.before {
			return fmt.Errorf("verify: nftables table %s on %s differs from before the inject: %s", chaosTable, f.host, firstDiff(f.before, now))
		}
		return nil
	})
}
