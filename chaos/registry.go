package chaos

import (
	"fmt"
	"sort"
	"strings"
)

// kinds is the registry: every fault kind natlab knows, in the order the
// documentation lists them.
var kinds = []Kind{
	sysctlKind,
	flushKind,
	snatKind,
	timeoutsKind,
	linkKind,
	dropKind,
	killKind,
	restartKind,
	saturateKind,
}

// Kinds returns every fault kind.
func Kinds() []Kind { return append([]Kind(nil), kinds...) }

// Lookup returns the kind called name.
func Lookup(name string) (Kind, bool) {
	for _, k := range kinds {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}

// New builds the fault of kind on host from params.
func New(kind, host string, params map[string]any) (Fault, error) {
	k, ok := Lookup(kind)
	if !ok {
		return nil, unknownKind(kind)
	}
	f, err := k.New(host, params)
	if err != nil {
		return nil, fmt.Errorf("fault %s: %w", kind, err)
	}
	return f, nil
}

func unknownKind(kind string) error {
	return fmt.Errorf("unknown fault kind %q, valid kinds: %s", kind, strings.Join(Catalog{}.Kinds(), ", "))
}

// Catalog lets the scenario package check faults without knowing them
// (scenario.FaultCatalog).
type Catalog struct{}

// Kinds lists the kind names, sorted.
func (Catalog) Kinds() []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k.Name
	}
	sort.Strings(out)
	return out
}

// Validate checks the params of one fault of kind, reporting every
// problem at once.
func (Catalog) Validate(kind string, params map[string]any) error {
	k, ok := Lookup(kind)
	if !ok {
		return unknownKind(kind)
	}
	_, err := k.New("", params)
	return err
}
