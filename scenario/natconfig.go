package scenario

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/natlab/natlab/testbed"
)

// NATConfig is a candidate NAT config (`natlab run --nat-config FILE`):
// profile keys of testbed.nat that replace the scenario's in every NAT box,
// so that a change of NAT settings can be gated before it is applied.
// Package scenario/natconfig reads it from a YAML NAT block, a Terraform
// file or a Terraform plan.
type NATConfig struct {
	// File is the candidate's path, named in errors and in the report.
	File string
	// Form is "yaml", "terraform" or "plan".
	Form string
	// Resource is the Terraform address the settings came from
	// (google_compute_router_nat.nat), empty for a YAML block.
	Resource string
	// Block is a YAML mapping of profile keys (NATProfileKeys) whose
	// nodes carry their positions in File.
	Block *yaml.Node
	// Ignored are the attributes read but not modelled, each with why:
	// they are told, never dropped silently.
	Ignored []string
}

// NATProfileKeys are the keys of testbed.nat that a NAT config candidate
// may set: the profile and its settings.
func NATProfileKeys() []string { return slices.Clone(profileNATKeys) }

// NATChange is what a NAT config candidate changed in the scenario.
type NATChange struct {
	File     string
	Form     string
	Resource string
	// Changes are the settings that differ from the scenario's, per NAT
	// box, in the order of the boxes and then of the keys.
	Changes []NATSettingChange
	Ignored []string
}

// NATSettingChange is one setting of one NAT box that the candidate
// changes, with the values as natlab reads them (defaults filled in).
type NATSettingChange struct {
	NAT     string
	Setting string
	Before  string
	After   string
}

// natCandidate applies the candidate to one NAT box: ns holds what the
// scenario's own keys of m set, except the profile keys; they are read
// from the scenario into before (for the report) and from the candidate
// into ns. The scenario's profile and NAT IP count stay when the candidate
// does not give them.
func (p *parser) natCandidate(m *mapping, label, path string, fp *fieldPos, ns *testbed.NATSpec) (before testbed.NATSpec) {
	before = *ns
	p.natProfile(m, label, path, fp, &before)
	cfg := p.natConfig
	cp := &parser{errs: &collector{file: cfg.File}, dir: p.dir, machine: p.machine}
	defer func() { p.errs.list = append(p.errs.list, cp.errs.list...) }()
	cm := cp.mapping(cfg.Block, "the NAT config", profileNATKeys)
	if cm == nil {
		return before
	}
	// The scenario keeps what the candidate does not say.
	keep := &mapping{node: m.node, keys: map[string]*yaml.Node{}, vals: map[string]*yaml.Node{}}
	for _, k := range []string{"profile", "nat_ips"} {
		if cm.get(k) == nil && m.get(k) != nil {
			keep.keys[k], keep.vals[k] = m.keys[k], m.vals[k]
			keep.order = append(keep.order, k)
		}
	}
	// What the scenario keeps was read above; told again, a problem of it
	// is the same error, which the collector keeps once.
	p.natProfile(keep, label, path, fp, ns)
	set := map[string]bool{}
	for k := range fp.pos {
		set[k] = true
	}
	cp.natProfile(cm, label, path, fp, ns)
	for k := range fp.pos {
		if !set[k] {
			fp.files[k] = cfg.File
		}
	}
	for _, k := range cm.order {
		// A key set in the scenario too was known before: it is the
		// candidate's now.
		fp.files[path+"."+k] = cfg.File
		if k == "nat_ips" {
			fp.files[path+".ips"] = cfg.File
		}
	}
	// A scenario's setting the candidate drops is the candidate's
	// doing: what is said of it is said at the candidate.
	for _, k := range profileNATKeys {
		if m.get(k) == nil || cm.get(k) != nil || keep.get(k) != nil {
			continue
		}
		fk := path + "." + k
		if k == "nat_ips" {
			fk = path + ".ips"
		}
		fp.set(fk, label+"."+k, posOf(cfg.Block))
		fp.files[fk] = cfg.File
	}
	return before
}

// natChanges compares the scenario's NAT boxes (before, normalized the
// same way) with the ones the candidate made.
func natChanges(cfg *NATConfig, before, after testbed.Spec) *NATChange {
	ch := &NATChange{File: cfg.File, Form: cfg.Form, Resource: cfg.Resource, Ignored: cfg.Ignored}
	for i := range after.NATs {
		if i >= len(before.NATs) {
			break
		}
		b, a := profileSettings(before.NATs[i]), profileSettings(after.NATs[i])
		var keys []string
		for k := range b {
			keys = append(keys, k)
		}
		for k := range a {
			if _, ok := b[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.SortFunc(keys, func(x, y string) int { return keyOrder(x) - keyOrder(y) })
		for _, k := range keys {
			bv, bok := b[k]
			av, aok := a[k]
			if bok && aok && bv == av {
				continue
			}
			if !bok {
				bv = "unset"
			}
			if !aok {
				av = "unset"
			}
			if bv == av {
				continue // unset before and after, in two different forms
			}
			ch.Changes = append(ch.Changes, NATSettingChange{NAT: after.NATs[i].Name, Setting: k, Before: bv, After: av})
		}
	}
	return ch
}

// keyOrder sorts settings as profileNATKeys lists them, others after.
func keyOrder(k string) int {
	if i := slices.Index(profileNATKeys, k); i >= 0 {
		return i
	}
	return len(profileNATKeys)
}

// profileSettings flattens the profile settings of a NAT box to their
// natlab key names: the profile, the NAT IP count (nat_ips) and every
// field of the profile's own settings (the struct NATSpec points to, as
// GCP), by its JSON name; 0 reads as unset.
func profileSettings(ns testbed.NATSpec) map[string]string {
	out := map[string]string{"profile": profileName(ns.Profile), "nat_ips": strconv.Itoa(ns.IPs)}
	v := reflect.ValueOf(ns)
	for i := range v.NumField() {
		f := v.Field(i)
		if f.Kind() != reflect.Pointer || f.IsNil() || f.Elem().Kind() != reflect.Struct {
			continue
		}
		s := f.Elem()
		for j := range s.NumField() {
			name, _, _ := strings.Cut(s.Type().Field(j).Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			x := s.Field(j)
			switch {
			case x.IsZero() && x.Kind() != reflect.Bool:
				out[name] = "unset"
			default:
				out[name] = fmt.Sprint(x.Interface())
			}
		}
	}
	return out
}

// refuseProfileSets refuses a --set of a profile key beside a candidate:
// the candidate replaces every profile key, so the override would be lost
// without a word.
func refuseProfileSets(sets []string, file string, errs *collector) {
	for _, s := range sets {
		path, _, ok := strings.Cut(s, "=")
		if !ok {
			continue // told by applySets
		}
		steps, err := parseSetPath(strings.TrimSpace(path))
		if err != nil || len(steps) < 3 || steps[0].key != "testbed" {
			continue
		}
		last := steps[len(steps)-1]
		if (steps[1].key == "nat" || steps[1].key == "nats") && last.index == keyStep && slices.Contains(profileNATKeys, last.key) {
			errs.addSet(s, "--nat-config %s replaces the NAT's %s: set it in the candidate instead", file, last.key)
		}
	}
}
