package scenario

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/natlab/natlab/internal/field"
	"github.com/natlab/natlab/testbed"
)

// testCatalog is a small FaultCatalog standing in for the chaos package:
// it reports problems as chaos does (field errors of the parameter) and
// builds faults that name the state they touch.
type testCatalog struct{}

func (testCatalog) Kinds() []string {
	return []string{"conntrack-flush", "kill", "link-down", "snat", "sysctl"}
}

// testFault is what testCatalog builds.
type testFault struct {
	kind    string
	touches []string
}

func (f *testFault) Touches() []string { return f.touches }

func (testCatalog) Build(kind, host string, spec *testbed.Spec, params map[string]any) (any, error) {
	var errs []error
	allow := map[string][]string{
		"sysctl":          {"set"},
		"conntrack-flush": {"filter"},
		"snat":            {"ips", "ports"},
		"link-down":       {"iface"},
	}[kind]
	var keys []string
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(allow, k) {
			errs = append(errs, &field.Error{Path: k, Msg: "unknown parameter, valid are " + strings.Join(allow, ", "), Valid: allow, Unknown: true})
		}
	}
	f := &testFault{kind: kind}
	switch kind {
	case "sysctl":
		set, ok := params["set"].(map[string]any)
		if !ok || len(set) == 0 {
			errs = append(errs, field.Errorf("", "give set: a mapping of sysctl keys to values"))
		}
		for k := range set {
			f.touches = append(f.touches, "sysctl "+k)
		}
	case "snat":
		f.touches = []string{"snat"}
	case "kill":
		f.touches = []string{"*"}
		if spec != nil && slices.ContainsFunc(spec.Clients, func(c testbed.ClientSpec) bool { return c.Name == host }) {
			errs = append(errs, field.Errorf("host", "%q is a client host; kill applies to a NAT box or a backend", host))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return f, nil
}

// plainCatalog reports a problem of the whole fault and one of a
// parameter, with an error that is not a field error besides.
type plainCatalog struct{}

func (plainCatalog) Kinds() []string { return []string{"drop"} }

func (plainCatalog) Build(kind, host string, spec *testbed.Spec, params map[string]any) (any, error) {
	var errs []error
	if _, ok := params["percent"]; !ok {
		errs = append(errs, field.Errorf("", "give percent: the share of packets to drop"))
	}
	for k := range params {
		if k != "percent" {
			errs = append(errs, &field.Error{Path: k, Msg: "unknown parameter", Valid: []string{"percent"}, Unknown: true})
		}
	}
	if _, ok := params["percent"].(string); ok {
		errs = append(errs, fmt.Errorf("the catalog broke"))
	}
	return nil, errors.Join(errs...)
}
