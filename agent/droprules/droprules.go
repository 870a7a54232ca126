// Package droprules installs and removes the packet-drop rules of the drop
// fault in the network namespace of the calling process: the NAT agent
// runs them, so the fault works the same on every testbed backend. The
// rules live in an nftables table of their own, apart from the NAT's.
package droprules

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/natlab/natlab/agent/wire"
)

// mu serializes changes to the table within the agent.
var mu sync.Mutex

func table() *nftables.Table {
	return &nftables.Table{Name: wire.DropTable, Family: nftables.TableFamilyIPv4}
}

// Install adds the chain and its rules.
func Install(s wire.DropRule) error {
	if s.Chain == "" || (s.Percent == 0) == !s.Blackhole.IsValid() {
		return fmt.Errorf("drop rules: want a chain and either a percent or a blackhole prefix")
	}
	if s.Blackhole.IsValid() && !s.Blackhole.Addr().Is4() {
		return fmt.Errorf("drop rules: blackhole %s is not IPv4", s.Blackhole)
	}
	mu.Lock()
	defer mu.Unlock()
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("open nftables: %w", err)
	}
	t := c.AddTable(table())
	accept := nftables.ChainPolicyAccept
	ch := c.AddChain(&nftables.Chain{Name: s.Chain, Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityRef(*nftables.ChainPriorityFilter - 5), Policy: &accept})
	counterDrop := []expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop}}
	if s.Percent > 0 {
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: append([]expr.Any{
			&expr.Numgen{Register: 1, Modulus: 100, Type: unix.NFT_NG_RANDOM},
			&expr.Byteorder{SourceRegister: 1, DestRegister: 1, Op: expr.ByteorderHton, Len: 4, Size: 4},
			&expr.Cmp{Op: expr.CmpOpLt, Register: 1, Data: binaryutil.BigEndian.PutUint32(uint32(s.Percent))},
		}, counterDrop...)})
	} else {
		for _, offset := range []uint32{12, 16} { // source, destination address
			c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: append(matchPrefix(offset, s.Blackhole), counterDrop...)})
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("install drop rules: %w", err)
	}
	return nil
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

// Remove deletes a chain (and the table once no chain is left) and returns
// the packets its rules dropped.
func Remove(chain string) (uint64, error) {
	mu.Lock()
	defer mu.Unlock()
	c, err := nftables.New()
	if err != nil {
		return 0, fmt.Errorf("open nftables: %w", err)
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return 0, fmt.Errorf("list chains: %w", err)
	}
	found, others := false, 0
	for _, ch := range chains {
		if ch.Table.Name != wire.DropTable {
			continue
		}
		if ch.Name == chain {
			found = true
		} else {
			others++
		}
	}
	if !found {
		return 0, nil
	}
	dropped, err := packets(c, chain)
	if err != nil {
		return 0, err
	}
	if others == 0 {
		c.DelTable(table())
	} else {
		c.FlushChain(&nftables.Chain{Name: chain, Table: table()})
		c.DelChain(&nftables.Chain{Name: chain, Table: table()})
	}
	if err := c.Flush(); err != nil {
		return 0, fmt.Errorf("delete chain %s: %w", chain, err)
	}
	return dropped, nil
}

// packets sums the counters of a chain's rules.
func packets(c *nftables.Conn, chain string) (uint64, error) {
	rules, err := c.GetRules(table(), &nftables.Chain{Name: chain, Table: table()})
	if err != nil {
		return 0, fmt.Errorf("rules of %s: %w", chain, err)
	}
	var n uint64
	for _, r := range rules {
		for _, e := range r.Exprs {
			if x, ok := e.(*expr.Counter); ok {
				n += x.Packets
			}
		}
	}
	return n, nil
}

// Snapshot renders the table canonically (counter values left out), ""
// when it does not exist, so a revert can be proven by comparison.
func Snapshot() (string, error) {
	mu.Lock()
	defer mu.Unlock()
	c, err := nftables.New()
	if err != nil {
		return "", fmt.Errorf("open nftables: %w", err)
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return "", fmt.Errorf("list chains: %w", err)
	}
	var sb strings.Builder
	var mine []*nftables.Chain
	for _, ch := range chains {
		if ch.Table.Name == wire.DropTable {
			mine = append(mine, ch)
		}
	}
	sort.Slice(mine, func(i, j int) bool { return mine[i].Name < mine[j].Name })
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return "", fmt.Errorf("list tables: %w", err)
	}
	for _, t := range tables {
		if t.Name == wire.DropTable {
			sb.WriteString("table ip " + wire.DropTable + "\n")
		}
	}
	for _, ch := range mine {
		fmt.Fprintf(&sb, "chain %s hook=%v priority=%v\n", ch.Name, deref(ch.Hooknum), deref(ch.Priority))
		rules, err := c.GetRules(table(), ch)
		if err != nil {
			return "", fmt.Errorf("rules of %s: %w", ch.Name, err)
		}
		for _, r := range rules {
			var parts []string
			for _, e := range r.Exprs {
				if _, ok := e.(*expr.Counter); ok {
					parts = append(parts, "counter")
					continue
				}
				parts = append(parts, fmt.Sprintf("%T%+v", e, e))
			}
			fmt.Fprintf(&sb, "  rule %s\n", strings.Join(parts, " ; "))
		}
	}
	return sb.String(), nil
}

func deref[T any](p *T) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprint(*p)
}
