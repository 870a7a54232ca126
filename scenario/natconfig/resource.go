package natconfig

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"go.yaml.in/yaml/v4"

	"github.com/natlab/natlab/scenario"
	"github.com/natlab/natlab/testbed/natcfg"
)

// The Terraform resource types natlab reads, and the profile each is.
const (
	TypeGCP = "google_compute_router_nat"
	TypeAWS = "aws_nat_gateway"

	ProfileAWS = natcfg.ProfileAWSNATGateway
)

// profileOf maps a resource type to natlab's profile.
var profileOf = map[string]string{TypeGCP: natcfg.ProfileGCPCloudNAT, TypeAWS: ProfileAWS}

// attr is one attribute of a resource as its source gives it.
type attr struct {
	pos scenario.Pos
	// value resolves it; its error says why natlab cannot.
	value func() (cty.Value, error)
	// elems counts the items of a list written out item by item (a list
	// of references counts without resolving them); -1 otherwise.
	elems int
	// unknown: the plan says the value is known only after apply.
	unknown bool
}

// resource is one google_compute_router_nat or aws_nat_gateway.
type resource struct {
	typ, addr string
	pos       scenario.Pos
	attrs     map[string]attr
	// order lists attributes and nested blocks in the order written.
	order  []string
	blocks map[string]scenario.Pos
}

func (r *resource) add(name string, a attr) {
	if _, dup := r.attrs[name]; !dup {
		r.order = append(r.order, name)
	}
	r.attrs[name] = a
}

func (r *resource) addBlock(name string, at scenario.Pos) {
	if _, dup := r.blocks[name]; dup {
		return
	}
	if _, dup := r.attrs[name]; dup {
		return
	}
	r.blocks[name] = at
	r.order = append(r.order, name)
}

// gcpSettings are the google_compute_router_nat attributes natlab reads
// with their natlab key (the same name) and type; nat_ips is counted.
var gcpSettings = map[string]cty.Type{
	"min_ports_per_vm":                    cty.Number,
	"max_ports_per_vm":                    cty.Number,
	"enable_dynamic_port_allocation":      cty.Bool,
	"enable_endpoint_independent_mapping": cty.Bool,
	"tcp_time_wait_timeout_sec":           cty.Number,
	"tcp_established_idle_timeout_sec":    cty.Number,
	"tcp_transitory_idle_timeout_sec":     cty.Number,
	"udp_idle_timeout_sec":                cty.Number,
}

// awsIPs are the aws_nat_gateway attributes that add NAT IPs beside the
// primary one: each lists them (or counts them, for a private gateway).
var awsIPs = []string{"secondary_allocation_ids", "secondary_private_ip_addresses", "secondary_private_ip_address_count"}

// why says why an attribute or block natlab reads is not modelled.
var why = map[string]string{
	"subnetwork":                          "origin blocks are the scenario's testbed.blocks (and pools); natlab does not map Terraform subnetworks onto them, so which subnets the NAT serves is not modelled",
	"source_subnetwork_ip_ranges_to_nat":  "only ALL_SUBNETWORKS_ALL_IP_RANGES is modelled: every client of the scenario's blocks goes through its NAT",
	"nat_ip_allocate_option":              "Cloud NAT allocating NAT IPs as VMs need them (AUTO_ONLY) is not modelled: the scenario's NAT IP count stays",
	"drain_nat_ips":                       "drained NAT IPs are not modelled",
	"icmp_idle_timeout_sec":               "natlab translates only TCP and UDP",
	"log_config":                          "logging is not modelled",
	"rules":                               "NAT rules are not modelled",
	"enable_endpoint_independent_mapping": "endpoint-independent mapping is not modelled by this natlab",
	"type":                                "only public NAT is modelled",
	"auto_network_tier":                   "network tiers are not modelled",
	"endpoint_types":                      "endpoint types are not modelled",
	"allocation_id":                       "the primary NAT IP is always one of nat_ips",
	"connectivity_type":                   "public and private gateways translate alike here",
	"subnet_id":                           "the gateway's subnet is the scenario's testbed",
	"private_ip":                          "natlab chooses the gateway's addresses",
}

// identity are attributes that name or place the resource: they are not
// settings, and are ignored without a word.
var identity = map[string]bool{"name": true, "router": true, "region": true, "project": true, "tags": true, "tags_all": true, "id": true, "timeouts": true}

// meta are Terraform's meta-arguments.
var meta = map[string]bool{"count": true, "for_each": true, "depends_on": true, "lifecycle": true, "provider": true, "provisioner": true, "connection": true}

// pick chooses the resource the candidate is: the one there is, or the
// one address names.
func pick(file string, rs []*resource, address string, where scenario.Pos) (*resource, error) {
	addrs := make([]string, len(rs))
	for i, r := range rs {
		addrs[i] = r.addr
	}
	if address != "" {
		for _, r := range rs {
			if r.addr == address {
				return r, nil
			}
		}
		if len(rs) == 0 {
			return nil, fail(file, where, "--nat-config-resource %s: the file has no %s or %s resource", address, TypeGCP, TypeAWS)
		}
		return nil, fail(file, where, "--nat-config-resource %s: no such resource; the file has %s", address, strings.Join(addrs, ", "))
	}
	switch len(rs) {
	case 0:
		return nil, fail(file, where, "the file has no %s or %s resource: natlab gates the settings of one of them", TypeGCP, TypeAWS)
	case 1:
		return rs[0], nil
	}
	return nil, fail(file, rs[1].pos, "the file has %d NAT resources (%s): pick one with --nat-config-resource ADDRESS", len(rs), strings.Join(addrs, ", "))
}

// config maps the resource's attributes to natlab's profile keys, if
// natlab has the resource's profile.
func config(file, form string, r *resource) (*scenario.NATConfig, error) {
	if profile := profileOf[r.typ]; !slices.Contains(natcfg.Profiles, profile) {
		return nil, fail(file, r.pos, "%s is profile %q, which is not available in this natlab (profiles: %s)",
			r.addr, profile, strings.Join(natcfg.Profiles, ", "))
	}
	return settings(file, form, r)
}

// settings maps the resource's attributes to natlab's profile keys.
func settings(file, form string, r *resource) (*scenario.NATConfig, error) {
	profile := profileOf[r.typ]
	known := map[string]bool{}
	for _, k := range scenario.NATProfileKeys() {
		known[k] = true
	}
	block := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: r.pos.Line, Column: r.pos.Col}
	put := func(key, tag, value string, at scenario.Pos) {
		block.Content = append(block.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: at.Line, Column: at.Col},
			&yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value, Line: at.Line, Column: at.Col})
	}
	put("profile", "!!str", profile, r.pos)
	cfg := &scenario.NATConfig{File: file, Form: form, Resource: r.addr, Block: block}
	ignore := func(name, reason string) {
		at := r.pos
		if a, ok := r.attrs[name]; ok {
			at = a.pos
		} else if b, ok := r.blocks[name]; ok {
			at = b
		}
		cfg.Ignored = append(cfg.Ignored, fmt.Sprintf("%s (%s:%d): %s", name, file, at.Line, reason))
	}
	errs := &problems{file: file}
	switch r.typ {
	case TypeGCP:
		if a, ok := r.attrs["nat_ips"]; ok {
			if n, ok := count(errs, r, "nat_ips", a); ok {
				put("nat_ips", "!!int", strconv.Itoa(n), a.pos)
			}
		}
		for _, name := range r.order {
			a, isAttr := r.attrs[name]
			typ, mapped := gcpSettings[name]
			switch {
			case name == "nat_ips":
			case modelledAsIs(r, name):
				// What natlab does anyway: no word needed.
			case mapped && known[name] && isAttr:
				if a.unknown {
					ignore(name, "known only after apply: natlab uses the profile's default")
					continue
				}
				if tag, v, ok := scalar(errs, r, name, a, typ); ok && tag != "!!null" {
					put(name, tag, v, a.pos)
				}
			default:
				skip(name, isAttr, ignore)
			}
		}
	case TypeAWS:
		n, at, ok := 1, r.pos, true
		for _, name := range awsIPs {
			a, has := r.attrs[name]
			if !has || !ok {
				continue
			}
			if a.unknown && name == "secondary_private_ip_address_count" {
				ignore(name, "known only after apply: the listed secondary addresses count")
				continue
			}
			var k int
			if name == "secondary_private_ip_address_count" {
				var v string
				if _, v, ok = scalar(errs, r, name, a, cty.Number); ok {
					k, _ = strconv.Atoi(v)
				}
			} else {
				k, ok = count(errs, r, name, a)
			}
			if ok && k > 0 {
				n, at = 1+k, a.pos
			}
		}
		if ok {
			put("nat_ips", "!!int", strconv.Itoa(n), at)
		}
		for _, name := range r.order {
			if !slices.Contains(awsIPs, name) {
				_, isAttr := r.attrs[name]
				skip(name, isAttr, ignore)
			}
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// modelledAsIs: an attribute whose value is what natlab does anyway:
// NAT IPs listed by hand (MANUAL_ONLY with nat_ips), every subnet's every
// range translated (the scenario's blocks all go through their NAT).
func modelledAsIs(r *resource, name string) bool {
	want := map[string]string{"nat_ip_allocate_option": "MANUAL_ONLY", "source_subnetwork_ip_ranges_to_nat": "ALL_SUBNETWORKS_ALL_IP_RANGES"}[name]
	a, ok := r.attrs[name]
	if want == "" || !ok || a.unknown || a.value == nil {
		return false
	}
	if _, listed := r.attrs["nat_ips"]; name == "nat_ip_allocate_option" && !listed {
		return false
	}
	v, err := a.value()
	return err == nil && v.IsWhollyKnown() && !v.IsNull() && v.Type() == cty.String && v.AsString() == want
}

// skip tells an attribute or block natlab does not read.
func skip(name string, isAttr bool, ignore func(name, reason string)) {
	switch {
	case identity[name]:
	case meta[name]:
		ignore(name, "a meta-argument: natlab gates one instance of the resource")
	case why[name] != "":
		ignore(name, why[name])
	case isAttr:
		ignore(name, "not a setting natlab models")
	default:
		ignore(name, "a block natlab does not model")
	}
}

// resolve gives the value of a, or the problem that keeps natlab from it.
func resolve(errs *problems, r *resource, name string, a attr) (cty.Value, bool) {
	if a.unknown {
		errs.add(a.pos, "%s.%s is known only after apply: natlab cannot gate a value terraform has not computed", r.addr, name)
		return cty.NilVal, false
	}
	v, err := a.value()
	if err != nil {
		errs.add(a.pos, "%s.%s: %v", r.addr, name, err)
		return cty.NilVal, false
	}
	if !v.IsWhollyKnown() {
		errs.add(a.pos, "%s.%s is known only after apply: natlab cannot gate a value terraform has not computed", r.addr, name)
		return cty.NilVal, false
	}
	return v, true
}

// count counts the items of a list attribute.
func count(errs *problems, r *resource, name string, a attr) (int, bool) {
	if a.elems >= 0 {
		return a.elems, true
	}
	v, ok := resolve(errs, r, name, a)
	if !ok {
		return 0, false
	}
	if v.IsNull() {
		return 0, true
	}
	if t := v.Type(); !t.IsListType() && !t.IsTupleType() && !t.IsSetType() {
		errs.add(a.pos, "%s.%s: want a list, got %s", r.addr, name, t.FriendlyName())
		return 0, false
	}
	return v.LengthInt(), true
}

// scalar renders a number or bool attribute as a YAML scalar.
func scalar(errs *problems, r *resource, name string, a attr, typ cty.Type) (tag, value string, ok bool) {
	v, ok := resolve(errs, r, name, a)
	if !ok {
		return "", "", false
	}
	if v.IsNull() {
		// Null in Terraform is the provider's default; so it is here.
		return "!!null", "", true
	}
	c, err := convert.Convert(v, typ)
	if err != nil {
		errs.add(a.pos, "%s.%s: want %s, got %s", r.addr, name, typ.FriendlyName(), v.Type().FriendlyName())
		return "", "", false
	}
	if typ == cty.Bool {
		return "!!bool", strconv.FormatBool(c.True()), true
	}
	bf := c.AsBigFloat()
	i, acc := bf.Int64()
	if acc != big.Exact || !bf.IsInt() {
		errs.add(a.pos, "%s.%s: want a whole number, got %s", r.addr, name, bf.Text('g', -1))
		return "", "", false
	}
	return "!!int", strconv.FormatInt(i, 10), true
}
