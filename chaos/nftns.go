package chaos

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netns"
)

// chaosTable is the nftables table chaos keeps its own rules in, apart
// from natlab's NAT table, so a revert never touches the NAT config.
const chaosTable = "natlab_chaos"

// nftMu serializes changes to the chaos table of any host.
var nftMu sync.Mutex

// namespaced is implemented by hosts that are a named network namespace
// (the netns backend).
type namespaced interface{ Namespace() string }

// withNFT runs fn with an nftables connection inside host's namespace.
// The agents have no operation for foreign nftables tables, so this
// works where the runner can reach the namespace: the netns backend.
func withNFT(env Env, host string, fn func(c *nftables.Conn) error) error {
	h := env.Host(host)
	ns, ok := h.(namespaced)
	if h == nil || !ok {
		return fmt.Errorf("host %q: packet drop needs its network namespace, which only the netns backend exposes", host)
	}
	handle, err := netns.GetFromName(ns.Namespace())
	if err != nil {
		return fmt.Errorf("open namespace of %s: %w", host, err)
	}
	defer handle.Close()
	c, err := nftables.New(nftables.WithNetNSFd(int(handle)))
	if err != nil {
		return fmt.Errorf("nftables in %s: %w", host, err)
	}
	return fn(c)
}

func chaosTbl() *nftables.Table {
	return &nftables.Table{Name: chaosTable, Family: nftables.TableFamilyIPv4}
}

// tableText renders the chaos table canonically (counter values left
// out); "" when it does not exist.
func tableText(c *nftables.Conn) (string, error) {
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return "", fmt.Errorf("list chains: %w", err)
	}
	var sb strings.Builder
	var mine []*nftables.Chain
	for _, ch := range chains {
		if ch.Table.Name == chaosTable {
			mine = append(mine, ch)
		}
	}
	sort.Slice(mine, func(i, j int) bool { return mine[i].Name < mine[j].Name })
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return "", fmt.Errorf("list tables: %w", err)
	}
	for _, t := range tables {
		if t.Name == chaosTable {
			sb.WriteString("table ip " + chaosTable + "\n")
		}
	}
	for _, ch := range mine {
		fmt.Fprintf(&sb, "chain %s hook=%v priority=%v\n", ch.Name, deref(ch.Hooknum), deref(ch.Priority))
		rules, err := c.GetRules(chaosTbl(), ch)
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

// chainPackets sums the counters of a chain's rules.
func chainPackets(c *nftables.Conn, name string) (uint64, error) {
	rules, err := c.GetRules(chaosTbl(), &nftables.Chain{Name: name, Table: chaosTbl()})
	if err != nil {
		return 0, fmt.Errorf("rules of %s: %w", name, err)
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

// dropChain removes a chain of the chaos table, and the table once it has
// no chains left.
func dropChain(c *nftables.Conn, name string) error {
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return fmt.Errorf("list chains: %w", err)
	}
	found, others := false, 0
	for _, ch := range chains {
		if ch.Table.Name != chaosTable {
			continue
		}
		if ch.Name == name {
			found = true
		} else {
			others++
		}
	}
	if others == 0 && found {
		c.DelTable(chaosTbl())
	} else if found {
		c.FlushChain(&nftables.Chain{Name: name, Table: chaosTbl()})
		c.DelChain(&nftables.Chain{Name: name, Table: chaosTbl()})
	} else {
		return nil
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("delete chain %s: %w", name, err)
	}
	return nil
}
