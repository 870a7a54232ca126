package scenario

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Variant is one variant of a comparison: the scenario with a few more
// --set overrides.
type Variant struct {
	Name string
	Sets []string
}

// Dimension is one --vary: a path and the values it takes, one variant
// each.
type Dimension struct {
	Path   string
	Values []string
}

// ParseVary reads `--vary PATH=V1,V2,...` (PATH as in --set, [*] for every
// item of a list). Values are split at the commas outside brackets, braces
// and quotes, so a value may be a flow list or mapping.
func ParseVary(s string) (Dimension, error) {
	path, values, ok := strings.Cut(s, "=")
	path = strings.TrimSpace(path)
	if !ok || path == "" {
		return Dimension{}, fmt.Errorf("--vary %s: want PATH=V1,V2,..., e.g. phases[*].load.pool=none,keepalive", s)
	}
	if _, err := parseSetPath(path); err != nil {
		return Dimension{}, fmt.Errorf("--vary %s: %w", s, err)
	}
	d := Dimension{Path: path}
	seen := map[string]bool{}
	for _, v := range splitTop(values) {
		v = strings.TrimSpace(v)
		if v == "" {
			return Dimension{}, fmt.Errorf("--vary %s: an empty value", s)
		}
		if seen[v] {
			return Dimension{}, fmt.Errorf("--vary %s: %s is given twice", s, v)
		}
		seen[v] = true
		d.Values = append(d.Values, v)
	}
	return d, nil
}

// variantName is what a variant's name may hold.
var variantName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)

// ParseVariant reads `--variant 'NAME: PATH=VALUE; PATH=VALUE'`: a named
// variant of several overrides at once (e.g. a strategy and its pool).
func ParseVariant(s string) (Variant, error) {
	name, rest, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || !variantName.MatchString(name) {
		return Variant{}, fmt.Errorf("--variant %s: want NAME: PATH=VALUE; PATH=VALUE..., NAME of letters, digits, . _ + -, e.g. h2c: phases[*].load.strategy=h2c", s)
	}
	v := Variant{Name: name}
	for _, set := range strings.Split(rest, ";") {
		set = strings.TrimSpace(set)
		if set == "" {
			continue
		}
		path, _, ok := strings.Cut(set, "=")
		if !ok {
			return Variant{}, fmt.Errorf("--variant %s: %q: want PATH=VALUE", s, set)
		}
		if _, err := parseSetPath(strings.TrimSpace(path)); err != nil {
			return Variant{}, fmt.Errorf("--variant %s: %w", s, err)
		}
		v.Sets = append(v.Sets, set)
	}
	if len(v.Sets) == 0 {
		return Variant{}, fmt.Errorf("--variant %s: no PATH=VALUE override", s)
	}
	return v, nil
}

// Variants multiplies the named variants (none: one unnamed) by every
// value of every dimension: each named variant runs with each combination.
// A dimension's variants are named LABEL=VALUE, LABEL being the path's
// last key (the whole path when two dimensions share it). Names must come
// out unique.
func Variants(named []Variant, dims []Dimension) ([]Variant, error) {
	out := named
	if len(out) == 0 {
		out = []Variant{{}}
	}
	last := map[string]int{}
	for _, d := range dims {
		last[lastKey(d.Path)]++
	}
	for _, d := range dims {
		label := lastKey(d.Path)
		if last[label] > 1 {
			label = d.Path
		}
		var next []Variant
		for _, v := range out {
			for _, val := range d.Values {
				name := label + "=" + val
				if v.Name != "" {
					name = v.Name + " " + name
				}
				sets := append(append([]string(nil), v.Sets...), d.Path+"="+val)
				next = append(next, Variant{Name: name, Sets: sets})
			}
		}
		out = next
	}
	if len(out) == 1 && out[0].Name == "" {
		return nil, errors.New("compare needs variants: give --vary PATH=V1,V2 or --variant NAME: PATH=VALUE")
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("compare needs at least two variants, got one (%s): give more values or another --variant", out[0].Name)
	}
	seen := map[string]bool{}
	for _, v := range out {
		if seen[v.Name] {
			return nil, fmt.Errorf("variant %q is given twice", v.Name)
		}
		seen[v.Name] = true
	}
	return out, nil
}

// lastKey is the last mapping key of a --set path.
func lastKey(path string) string {
	steps, err := parseSetPath(path)
	if err != nil {
		return path
	}
	for i := len(steps) - 1; i >= 0; i-- {
		if steps[i].index == keyStep {
			return steps[i].key
		}
	}
	return path
}

// splitTop splits s at the commas that are outside [], {} and quotes.
func splitTop(s string) []string {
	var out []string
	depth := 0
	var quote rune
	start := 0
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == '[' || r == '{':
			depth++
		case r == ']' || r == '}':
			depth = max(0, depth-1)
		case r == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// SameSchedule reports how b's schedule differs from a's: the phases
// (names and durations) and the faults (names, kinds, hosts and times)
// every variant of a comparison must share, so that their series line up.
func SameSchedule(a, b *Scenario) error {
	var errs []error
	if len(a.Phases) != len(b.Phases) {
		errs = append(errs, fmt.Errorf("%d phases instead of %d", len(b.Phases), len(a.Phases)))
	} else {
		for i := range a.Phases {
			pa, pb := a.Phases[i], b.Phases[i]
			if pa.Name != pb.Name || pa.Duration != pb.Duration {
				errs = append(errs, fmt.Errorf("phase %d is %s for %s instead of %s for %s", i, pb.Name, pb.Duration, pa.Name, pa.Duration))
			}
		}
	}
	if len(a.Faults) != len(b.Faults) {
		errs = append(errs, fmt.Errorf("%d faults instead of %d", len(b.Faults), len(a.Faults)))
	} else {
		for i := range a.Faults {
			fa, fb := a.Faults[i], b.Faults[i]
			if fa.Name != fb.Name || fa.Kind != fb.Kind || fa.Host != fb.Host || fa.At != fb.At || fa.For != fb.For {
				errs = append(errs, fmt.Errorf("fault %s is %s on %s at %s for %s instead of %s on %s at %s for %s",
					fb.Name, fb.Kind, fb.Host, fb.At, fb.For, fa.Kind, fa.Host, fa.At, fa.For))
			}
		}
	}
	return errors.Join(errs...)
}
