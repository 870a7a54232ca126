package scenario

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// testCatalog is a small FaultCatalog standing in for the chaos package.
type testCatalog struct{}

func (testCatalog) Kinds() []string {
	return []string{"conntrack-flush", "link-down", "snat", "sysctl"}
}

func (testCatalog) Validate(kind string, params map[string]any) error {
	var errs []error
	allow := map[string][]string{
		"sysctl":          {"set"},
		"conntrack-flush": {"filter"},
		"snat":            {"ips", "ports"},
		"link-down":       {"iface"},
	}[kind]
	for k := range params {
		if !slices.Contains(allow, k) {
			errs = append(errs, &ParamError{Param: k, Msg: fmt.Sprintf("unknown parameter: valid are %s", strings.Join(allow, ", "))})
		}
	}
	if kind == "sysctl" {
		set, ok := params["set"].(map[string]any)
		if !ok || len(set) == 0 {
			errs = append(errs, errors.New("set: want a mapping of sysctl keys to values"))
		}
	}
	return errors.Join(errs...)
}

// plainCatalog reports parameter problems as plain "param: message" errors.
type plainCatalog struct{}

func (plainCatalog) Kinds() []string { return []string{"drop"} }

func (plainCatalog) Validate(kind string, params map[string]any) error {
	var errs []error
	if _, ok := params["percent"]; !ok {
		errs = append(errs, errors.New("give percent: the share of packets to drop"))
	}
	for k := range params {
		if k != "percent" {
			errs = append(errs, fmt.Errorf("%s: unknown parameter, valid ones are: percent", k))
		}
	}
	return errors.Join(errs...)
}
