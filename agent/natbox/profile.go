package natbox

import (
	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/ti-mo/conntrack"

	"github.com/natlab/natlab/testbed/natcfg"
)

// A profile is one NAT behaviour (plain Linux, Cloud NAT, ...): it says
// which nftables state a config needs, and may keep a control loop of its
// own running while that config is applied (the real services have a
// control plane; packets are still only ever forwarded by the kernel).
type profile interface {
	// build returns what Apply installs for c, into table t whose fixed
	// base chains are chs (by name).
	build(c natcfg.Config, t *nftables.Table, chs map[string]*nftables.Chain) *plan
	// start begins the profile's part that runs while c is applied on b;
	// nil when the profile has none. It is called with b.mu held.
	start(b *Box, c natcfg.Config) running
}

// profiles are the profiles natlab has, by natcfg name. A new profile is
// one file with its type and a line here (and its name in natcfg.Profiles).
var profiles = map[string]profile{
	natcfg.ProfileLinux:         linuxProfile{},
	natcfg.ProfileGCPCloudNAT:   gcpProfile{},
	natcfg.ProfileAWSNATGateway: awsProfile{},
}

func profileOf(name string) profile {
	if name == "" {
		name = natcfg.ProfileLinux
	}
	return profiles[name]
}

// running is the live part of a profile.
type running interface {
	// stop ends the control loop and waits for it; called without b.mu.
	stop()
	// metrics adds the profile's own readings to m; flows is the
	// conntrack dump and held the held ports of this reading. Called with
	// b.mu held.
	metrics(flows []conntrack.Flow, held []natPort, m *natcfg.Metrics) error
}

// plan is the nftables state of one config, beyond the fixed base chains
// and the held set every profile has.
type plan struct {
	// chains are regular chains (no hook) the rules jump to.
	chains []*nftables.Chain
	// sets are the named sets and maps.
	sets []namedSet
	// anonSets are bound to the rules that use them.
	anonSets []anonSet
	// objects are named counters and ct timeout policies: an object that
	// exists with the same name is kept (a counter keeps counting, a
	// timeout policy keeps the entries that use it), others are added,
	// and objects of the table that no plan names are deleted.
	objects []*nftables.NamedObj
	rules   []*nftables.Rule
}

// namedSet is a named set of a plan. A kept set is created when absent
// and otherwise left as it is with its elements (the state the kernel
// builds up, like the counts of `ct count`); a set that is not kept is
// replaced by the one given with its elements.
type namedSet struct {
	set   *nftables.Set
	elems []nftables.SetElement
	keep  bool
}

// add appends a rule of chain ch to the plan.
func (p *plan) add(t *nftables.Table, ch *nftables.Chain, e ...expr.Any) {
	p.rules = append(p.rules, &nftables.Rule{Table: t, Chain: ch, Exprs: e})
}
