package natconfig

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v4"

	"github.com/natlab/natlab/scenario"
)

func write(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	return p
}

// block renders a candidate's keys as KEY=VALUE@LINE:COL, in order.
func block(t *testing.T, cfg *scenario.NATConfig) []string {
	t.Helper()
	require.Equal(t, yaml.MappingNode, cfg.Block.Kind)
	var out []string
	for i := 0; i+1 < len(cfg.Block.Content); i += 2 {
		k, v := cfg.Block.Content[i], cfg.Block.Content[i+1]
		out = append(out, k.Value+"="+v.Value+"@"+scenario.Pos{Line: v.Line, Col: v.Column}.String())
	}
	return out
}

func eimModelled() bool {
	return slices.Contains(scenario.NATProfileKeys(), "enable_endpoint_independent_mapping")
}

const gcpTF = `variable "min_ports" {
  type    = number
  default = 64
}

variable "region" {}

locals {
  max_ports = local.base * 2
  base      = var.min_ports
}

resource "google_compute_router_nat" "nat" {
  name                                = "egress"
  router                              = google_compute_router.router.name
  region                              = var.region
  nat_ip_allocate_option              = "MANUAL_ONLY"
  nat_ips                             = [google_compute_address.a.self_link, google_compute_address.b.self_link]
  source_subnetwork_ip_ranges_to_nat  = "LIST_OF_SUBNETWORKS"
  min_ports_per_vm                    = var.min_ports
  max_ports_per_vm                    = local.max_ports
  enable_dynamic_port_allocation      = true
  enable_endpoint_independent_mapping = false
  tcp_time_wait_timeout_sec           = max(15, 30)
  udp_idle_timeout_sec                = "45"

  subnetwork {
    name                    = google_compute_subnetwork.app.id
    source_ip_ranges_to_nat = ["ALL_IP_RANGES"]
  }
  log_config {
    enable = true
    filter = "ERRORS_ONLY"
  }
}
`

// A google_compute_router_nat maps to profile gcp-cloud-nat by Terraform's
// attribute names: variables from their defaults, locals in any order, a
// list of references counted without resolving them, a few pure
// functions; each value keeps its place in the file. What natlab does not
// model is listed with its line and why; names and references that only
// place the resource (router, region) are not settings at all.
func TestTerraformGCP(t *testing.T) {
	f := write(t, "nat.tf", gcpTF)
	cfg, err := Load(f, "")
	require.NoError(t, err)
	assert.Equal(t, FormTerraform, cfg.Form)
	assert.Equal(t, "google_compute_router_nat.nat", cfg.Resource)
	want := []string{"profile=gcp-cloud-nat@13:1", "nat_ips=2@18:41", "min_ports_per_vm=64@20:41", "max_ports_per_vm=128@21:41",
		"enable_dynamic_port_allocation=true@22:41"}
	if eimModelled() {
		want = append(want, "enable_endpoint_independent_mapping=false@23:41")
	}
	want = append(want, "tcp_time_wait_timeout_sec=30@24:41", "udp_idle_timeout_sec=45@25:41")
	assert.Equal(t, want, block(t, cfg))

	ignored := strings.Join(cfg.Ignored, "\n")
	for _, s := range []string{"source_subnetwork_ip_ranges_to_nat (" + f + ":19): only ALL_SUBNETWORKS_ALL_IP_RANGES is modelled",
		"subnetwork (" + f + ":27): origin blocks are the scenario's testbed.blocks", "log_config (" + f + ":31): logging is not modelled"} {
		assert.Contains(t, ignored, s)
	}
	if !eimModelled() {
		assert.Contains(t, ignored, "enable_endpoint_independent_mapping ("+f+":23): endpoint-independent mapping is not modelled")
	}
	// MANUAL_ONLY with nat_ips is what natlab does; names and places are
	// no settings.
	for _, s := range []string{"nat_ip_allocate_option", "router", "region", "name ("} {
		assert.NotContains(t, ignored, s)
	}

	// AUTO_ONLY has no nat_ips: the scenario's count stays, and that is said.
	auto := write(t, "auto.tf", `resource "google_compute_router_nat" "nat" {
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "ALL_SUBNETWORKS_ALL_IP_RANGES"
}
`)
	cfg, err = Load(auto, "")
	require.NoError(t, err)
	assert.Equal(t, []string{"profile=gcp-cloud-nat@1:1"}, block(t, cfg))
	assert.Equal(t, []string{"nat_ip_allocate_option (" + auto + ":2): Cloud NAT allocating NAT IPs as VMs need them (AUTO_ONLY) is not modelled: the scenario's NAT IP count stays"}, cfg.Ignored)
}

// What natlab cannot resolve is an error naming the attribute, the file
// and the place, one per attribute, all at once.
func TestTerraformUnresolvable(t *testing.T) {
	f := write(t, "nat.tf", `variable "min_ports" {}
locals {
  tw = var.missing
}
resource "google_compute_router_nat" "nat" {
  nat_ips                   = google_compute_address.nat[*].self_link
  min_ports_per_vm          = var.min_ports
  max_ports_per_vm          = google_compute_router.r.bgp[0].asn
  tcp_time_wait_timeout_sec = local.tw
  udp_idle_timeout_sec      = 1.5
  router                    = var.undeclared_but_ignored
}
`)
	_, err := Load(f, "")
	require.Error(t, err)
	var errs *scenario.Errors
	require.ErrorAs(t, err, &errs)
	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, 5, err.Error())
	assert.Equal(t, f+":6:31: google_compute_router_nat.nat.nat_ips: google_compute_address.nat[*].self_link refers to google_compute_address.nat, which is known only to terraform (an attribute of another resource, a data source or a module): write the value, or a variable with a default", lines[0])
	assert.Equal(t, f+`:7:31: google_compute_router_nat.nat.min_ports_per_vm: variable "min_ports" has no default, and natlab reads no .tfvars or -var: give it a default in `+f+", or write the value", lines[1])
	assert.Contains(t, lines[2], f+":8:31: google_compute_router_nat.nat.max_ports_per_vm: google_compute_router.r.bgp[0].asn is known only to terraform")
	assert.Equal(t, f+":9:31: google_compute_router_nat.nat.tcp_time_wait_timeout_sec: local.tw: var.missing is not declared in "+f+" (natlab reads only this file)", lines[3])
	assert.Equal(t, f+":10:31: google_compute_router_nat.nat.udp_idle_timeout_sec: want a whole number, got 1.5", lines[4])
}

// Two NAT resources need --nat-config-resource; it picks one, and a wrong
// address lists those there are. A syntax error is told where hcl found it.
func TestTerraformPick(t *testing.T) {
	f := write(t, "two.tf", `resource "google_compute_router_nat" "a" {
  min_ports_per_vm = 64
}
resource "google_compute_router_nat" "b" {
  min_ports_per_vm = 128
}
`)
	_, err := Load(f, "")
	require.EqualError(t, err, f+":4:1: the file has 2 NAT resources (google_compute_router_nat.a, google_compute_router_nat.b): pick one with --nat-config-resource ADDRESS")
	cfg, err := Load(f, "google_compute_router_nat.b")
	require.NoError(t, err)
	assert.Equal(t, []string{"profile=gcp-cloud-nat@4:1", "min_ports_per_vm=128@5:22"}, block(t, cfg))
	_, err = Load(f, "google_compute_router_nat.c")
	require.EqualError(t, err, f+":1:1: --nat-config-resource google_compute_router_nat.c: no such resource; the file has google_compute_router_nat.a, google_compute_router_nat.b")

	none := write(t, "none.tf", `resource "google_compute_router" "r" {}`+"\n")
	_, err = Load(none, "")
	require.EqualError(t, err, none+":1:1: the file has no google_compute_router_nat or aws_nat_gateway resource: natlab gates the settings of one of them")

	broken := write(t, "broken.tf", "resource \"google_compute_router_nat\" \"a\" {\n  min_ports_per_vm = \n}\n")
	_, err = Load(broken, "")
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), broken+":2:"), err.Error())
	assert.Contains(t, err.Error(), "terraform syntax")
}

const awsTF = `resource "aws_nat_gateway" "egress" {
  allocation_id            = aws_eip.primary.id
  subnet_id                = aws_subnet.public.id
  secondary_allocation_ids = [aws_eip.b.id, aws_eip.c.id]
  tags = {
    Name = "egress"
  }
}
`

// An aws_nat_gateway is profile aws-nat-gateway with nat_ips the primary
// address and its secondaries. While this natlab has no such profile the
// file is refused at the resource, saying so; the mapping itself is
// checked below the profile.
func TestTerraformAWS(t *testing.T) {
	f := write(t, "aws.tf", awsTF)
	cfg, err := Load(f, "")
	require.NoError(t, err)
	assert.Contains(t, block(t, cfg), "profile=aws-nat-gateway@1:1")
	body, diags := parseForTest(t, f)
	require.False(t, diags)
	cfg, err = settings(f, FormTerraform, body)
	require.NoError(t, err)
	assert.Equal(t, []string{"profile=aws-nat-gateway@1:1", "nat_ips=3@4:30"}, block(t, cfg))
	assert.Equal(t, []string{
		"allocation_id (" + f + ":2): the primary NAT IP is always one of nat_ips",
		"subnet_id (" + f + ":3): the gateway's subnet is the scenario's testbed",
	}, cfg.Ignored)

	private := write(t, "private.tf", `resource "aws_nat_gateway" "p" {
  connectivity_type                  = "private"
  secondary_private_ip_address_count = 4
}
`)
	r, _ := parseForTest(t, private)
	cfg, err = settings(private, FormTerraform, r)
	require.NoError(t, err)
	assert.Equal(t, []string{"profile=aws-nat-gateway@1:1", "nat_ips=5@3:40"}, block(t, cfg))

	single := write(t, "single.tf", `resource "aws_nat_gateway" "s" {}`+"\n")
	r, _ = parseForTest(t, single)
	cfg, err = settings(single, FormTerraform, r)
	require.NoError(t, err)
	assert.Equal(t, []string{"profile=aws-nat-gateway@1:1", "nat_ips=1@1:1"}, block(t, cfg))
}

// parseForTest reads the one NAT resource of a .tf file below the profile
// check.
func parseForTest(t *testing.T, file string) (*resource, bool) {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	rs, err := terraformResources(file, data)
	require.NoError(t, err)
	require.Len(t, rs, 1)
	return rs[0], false
}

// A plan in the shape of `terraform show -json` (one line, as terraform
// writes it): an update of the Cloud NAT and the creation of a gateway.
const planJSON = `{"format_version":"1.2","terraform_version":"1.9.5","resource_changes":[` +
	`{"address":"google_compute_router_nat.nat","mode":"managed","type":"google_compute_router_nat","name":"nat","change":{"actions":["update"],` +
	`"before":{"min_ports_per_vm":128},"after":{"name":"egress","nat_ips":["projects/p/regions/r/addresses/a"],"min_ports_per_vm":64,"max_ports_per_vm":null,` +
	`"enable_dynamic_port_allocation":false,"tcp_time_wait_timeout_sec":30,"log_config":[{"enable":true,"filter":"ERRORS_ONLY"}],"drain_nat_ips":[],"rules":[]},` +
	`"after_unknown":{"id":false}}},` +
	`{"address":"module.edge.google_compute_router_nat.new","type":"google_compute_router_nat","change":{"actions":["create"],` +
	`"after":{"nat_ips":[null,null],"max_ports_per_vm":0,"tcp_time_wait_timeout_sec":120},"after_unknown":{"nat_ips":[true,true],"min_ports_per_vm":true,"enable_dynamic_port_allocation":true}}},` +
	`{"address":"google_compute_router_nat.old","type":"google_compute_router_nat","change":{"actions":["delete"],"after":null}},` +
	`{"address":"google_compute_router_nat.auto","type":"google_compute_router_nat","change":{"actions":["create"],"after":{},"after_unknown":{"nat_ips":true}}}]}`

// A plan's resource_changes[].change.after is the candidate: several NAT
// resources need --nat-config-resource, a deleted one is no candidate, a
// list of values known only after apply still counts, a setting the
// provider computes at apply is the profile's default (and said so), a
// number the provider keeps as 0 is unset, and a
// NAT IP list known only after apply cannot be counted.
func TestPlan(t *testing.T) {
	f := write(t, "plan.json", planJSON)
	_, err := Load(f, "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the file has 3 NAT resources (google_compute_router_nat.nat, module.edge.google_compute_router_nat.new, google_compute_router_nat.auto): pick one with --nat-config-resource ADDRESS")

	cfg, err := Load(f, "google_compute_router_nat.nat")
	require.NoError(t, err)
	assert.Equal(t, FormPlan, cfg.Form)
	assert.Equal(t, "google_compute_router_nat.nat", cfg.Resource)
	// Each value is where the plan has it: line 1, the column of the value.
	at := func(key string) string {
		i := strings.Index(planJSON, key)
		require.GreaterOrEqual(t, i, 0, key)
		return fmt.Sprintf("@1:%d", i+len(key)+1)
	}
	assert.Equal(t, []string{"profile=gcp-cloud-nat" + at(`"resource_changes":[`), "nat_ips=1" + at(`"nat_ips":`),
		"min_ports_per_vm=64" + at(`"after":{"name":"egress","nat_ips":["projects/p/regions/r/addresses/a"],"min_ports_per_vm":`),
		"enable_dynamic_port_allocation=false" + at(`"enable_dynamic_port_allocation":`),
		"tcp_time_wait_timeout_sec=30" + at(`"tcp_time_wait_timeout_sec":`)}, block(t, cfg))
	assert.Equal(t, []string{"log_config (" + f + ":1): logging is not modelled"}, cfg.Ignored)

	cfg, err = Load(f, "module.edge.google_compute_router_nat.new")
	require.NoError(t, err)
	b := block(t, cfg)
	require.Len(t, b, 3)
	assert.True(t, strings.HasPrefix(b[1], "nat_ips=2@"), b[1])
	assert.True(t, strings.HasPrefix(b[2], "tcp_time_wait_timeout_sec=120@"), b[2])
	assert.Equal(t, []string{"min_ports_per_vm (" + f + ":1): known only after apply: natlab uses the profile's default",
		"enable_dynamic_port_allocation (" + f + ":1): known only after apply: natlab uses the profile's default"}, cfg.Ignored)

	_, err = Load(f, "google_compute_router_nat.auto")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "google_compute_router_nat.auto.nat_ips is known only after apply: natlab cannot gate a value terraform has not computed")

	_, err = Load(f, "google_compute_router_nat.old")
	require.ErrorContains(t, err, "--nat-config-resource google_compute_router_nat.old: no such resource")
}

// The YAML form is the block as testbed.nat takes it; whether its keys and
// values are right is the scenario parser's to say (scenario's tests). It
// is refused when it is no mapping, when it names a resource, and when it
// holds a second document.
func TestYAMLBlock(t *testing.T) {
	f := write(t, "nat.yaml", "# candidate\nprofile: gcp-cloud-nat\nmin_ports_per_vm: 64\n")
	cfg, err := Load(f, "")
	require.NoError(t, err)
	assert.Equal(t, FormYAML, cfg.Form)
	assert.Equal(t, []string{"profile=gcp-cloud-nat@2:10", "min_ports_per_vm=64@3:19"}, block(t, cfg))

	_, err = Load(f, "google_compute_router_nat.nat")
	require.EqualError(t, err, f+":1:1: --nat-config-resource google_compute_router_nat.nat: this file is a NAT block in natlab's YAML, which names no resources (the option picks a resource of a .tf file or a plan)")

	list := write(t, "list.yaml", "- min_ports_per_vm: 64\n")
	_, err = Load(list, "")
	require.ErrorContains(t, err, list+":1:1: want a mapping of NAT profile keys (profile, nat_ips, ")

	two := write(t, "two.yaml", "min_ports_per_vm: 64\n---\nmin_ports_per_vm: 32\n")
	_, err = Load(two, "")
	require.ErrorContains(t, err, two+":2:1: a second YAML document starts here")

	syntax := write(t, "syntax.yaml", "min_ports_per_vm: [64\n")
	_, err = Load(syntax, "")
	require.ErrorContains(t, err, syntax+":")
	require.ErrorContains(t, err, "yaml syntax")

	state := write(t, "state.json", `{"format_version":"1.0","values":{"root_module":{}}}`)
	_, err = Load(state, "")
	require.EqualError(t, err, state+":1:1: this terraform show -json output has no resource_changes: it is a state, not a plan; give the JSON of terraform show -json PLAN (or the .tf file)")

	tfjson := write(t, "nat.tf.json", `{"resource":{"google_compute_router_nat":{"nat":{"min_ports_per_vm":64}}}}`)
	_, err = Load(tfjson, "")
	require.ErrorContains(t, err, tfjson+":1:1: this is Terraform's JSON syntax (.tf.json), which natlab does not read")

	_, err = Load(filepath.Join(t.TempDir(), "missing.yaml"), "")
	require.ErrorContains(t, err, "--nat-config: open ")
}
