// Package natconfig reads a candidate NAT config for `natlab run
// --nat-config FILE`: a NAT block in natlab's YAML (the profile keys
// testbed.nat takes), a Terraform file holding a google_compute_router_nat
// or aws_nat_gateway resource, or the JSON of `terraform show -json PLAN`.
// Every form becomes a scenario.NATConfig: a YAML mapping of profile keys
// whose values carry their place in FILE, so that the scenario parser tells
// a bad value at FILE:LINE:COL.
package natconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/natlab/natlab/scenario"
)

// The forms of a candidate.
const (
	FormYAML      = "yaml"
	FormTerraform = "terraform"
	FormPlan      = "plan"
)

// maxFileSize bounds a candidate file: a plan of a large estate is a few
// MiB; more is not a NAT config.
const maxFileSize = 64 << 20

// Load reads the candidate in file. resource picks one Terraform resource
// by its address (google_compute_router_nat.nat) when the file holds
// several; it must be empty for a YAML block. Problems in the file are a
// *scenario.Errors (FILE:LINE:COL: message); a file that cannot be read
// is a plain error.
func Load(file, resource string) (*scenario.NATConfig, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("--nat-config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("--nat-config %s: %w", file, err)
	}
	if len(data) > maxFileSize {
		return nil, fail(file, scenario.Pos{Line: 1, Col: 1}, "the file is larger than %d MiB: a NAT config or plan is smaller", maxFileSize>>20)
	}
	if strings.EqualFold(filepath.Ext(file), ".tf") {
		return loadTerraform(file, data, resource)
	}
	doc, err := decodeYAML(file, data)
	if err != nil {
		return nil, err
	}
	if isPlan(doc) {
		return loadPlan(file, doc, resource)
	}
	if resource != "" {
		return nil, fail(file, scenario.Pos{Line: 1, Col: 1}, "--nat-config-resource %s: this file is a NAT block in natlab's YAML, which names no resources (the option picks a resource of a .tf file or a plan)", resource)
	}
	if get(doc, "resource") != nil || get(doc, "variable") != nil {
		return nil, fail(file, pos(doc), "this is Terraform's JSON syntax (.tf.json), which natlab does not read: give the .tf file, or the JSON of terraform show -json PLAN")
	}
	if doc.Kind != yaml.MappingNode {
		return nil, fail(file, pos(doc), "want a mapping of NAT profile keys (%s), e.g. {profile: gcp-cloud-nat, min_ports_per_vm: 64}, a .tf file, or the JSON of terraform show -json PLAN; got %s",
			strings.Join(scenario.NATProfileKeys(), ", "), kind(doc))
	}
	return &scenario.NATConfig{File: file, Form: FormYAML, Block: doc}, nil
}

// decodeYAML reads the one YAML (or JSON) document of file.
func decodeYAML(file string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fail(file, scenario.Pos{Line: 1, Col: 1}, "the file is empty: give the NAT profile keys, e.g. {profile: gcp-cloud-nat, min_ports_per_vm: 64}")
		}
		var le *yaml.LoadError
		if errors.As(err, &le) {
			return nil, fail(file, scenario.Pos{Line: max(le.Mark.Line, 1), Col: max(le.Mark.Column, 1)}, "yaml syntax: %s", le.Message)
		}
		return nil, fail(file, scenario.Pos{Line: 1, Col: 1}, "yaml syntax: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return nil, fail(file, scenario.Pos{Line: max(next.Line, 1), Col: 1}, "a second YAML document starts here: a NAT config is one document")
	}
	if len(doc.Content) == 0 {
		return nil, fail(file, scenario.Pos{Line: 1, Col: 1}, "the file is empty: give the NAT profile keys, e.g. {profile: gcp-cloud-nat, min_ports_per_vm: 64}")
	}
	return doc.Content[0], nil
}

// fail is one problem at pos of file.
func fail(file string, p scenario.Pos, format string, args ...any) error {
	return &scenario.Errors{List: []scenario.Error{{File: file, Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)}}}
}

// problems gathers the problems of one file.
type problems struct {
	file string
	list []scenario.Error
}

func (p *problems) add(at scenario.Pos, format string, args ...any) {
	p.list = append(p.list, scenario.Error{File: p.file, Line: max(at.Line, 1), Col: max(at.Col, 1), Msg: fmt.Sprintf(format, args...)})
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &scenario.Errors{List: p.list}
}

func pos(n *yaml.Node) scenario.Pos { return scenario.Pos{Line: n.Line, Col: n.Column} }

func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	if n.Tag == "!!null" {
		return "null"
	}
	return fmt.Sprintf("the value %q", n.Value)
}
