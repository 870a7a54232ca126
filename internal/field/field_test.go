package field

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
)

func TestErrorText(t *testing.T) {
	if got := Errorf("nats[0].ports", "want %s", "1-65535").Error(); got != "nats[0].ports: want 1-65535" {
		t.Errorf("got %q", got)
	}
	if got := Errorf("", "no change given").Error(); got != "no change given" {
		t.Errorf("a problem of the whole input has no path: got %q", got)
	}
}

func TestJoinAndKey(t *testing.T) {
	cases := []struct{ prefix, path, want string }{
		{"nats[0]", "ports", "nats[0].ports"},
		{"sources", "[2]", "sources[2]"},
		{"", "ports", "ports"},
		{"phases[1]", "", "phases[1]"},
		{"set", Key("net.ipv4.ip_forward"), "set[net.ipv4.ip_forward]"},
		{"strategy", Key("pool"), "strategy.pool"},
	}
	for _, c := range cases {
		if got := Join(c.prefix, c.path); got != c.want {
			t.Errorf("Join(%q, %q) = %q, want %q", c.prefix, c.path, got, c.want)
		}
	}
}

// Prefix reaches every field error however deeply joined, copies them,
// and leaves other errors alone.
func TestPrefixAndList(t *testing.T) {
	inner := Errorf("rate", "too fast")
	plain := errors.New("no schedule")
	wrapped := fmt.Errorf("context: %w", Errorf("x", "y"))
	err := errors.Join(Errorf("kind", "unknown"), errors.Join(inner, plain), wrapped)
	fields, other := List(Prefix("phases[0].schedule", err))
	var paths []string
	for _, f := range fields {
		paths = append(paths, f.Path)
	}
	if want := []string{"phases[0].schedule.kind", "phases[0].schedule.rate"}; !reflect.DeepEqual(paths, want) {
		t.Errorf("paths %v, want %v", paths, want)
	}
	if len(other) != 2 || other[0] != plain || other[1] != wrapped {
		t.Errorf("other errors: %v", other)
	}
	if inner.Path != "rate" {
		t.Errorf("Prefix changed the original: %q", inner.Path)
	}
	if Prefix("x", nil) != nil {
		t.Error("Prefix of nil must be nil")
	}
	if f, o := List(nil); f != nil || o != nil {
		t.Error("List of nil must be empty")
	}
}

func TestSteps(t *testing.T) {
	cases := []struct {
		path string
		want []Step
	}{
		{"nats[0].ports", []Step{{Key: "nats", Index: -1}, {Index: 0}, {Key: "ports", Index: -1}}},
		{"set[net.ipv4.ip_forward]", []Step{{Key: "set", Index: -1}, {Key: "net.ipv4.ip_forward", Index: -1}}},
		{"phases[1][2].x", []Step{{Key: "phases", Index: -1}, {Index: 1}, {Index: 2}, {Key: "x", Index: -1}}},
		{"", nil},
		{"a[unclosed", []Step{{Key: "a", Index: -1}, {Key: "unclosed", Index: -1}}},
	}
	for _, c := range cases {
		if got := Steps(c.path); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Steps(%q) = %v, want %v", c.path, got, c.want)
		}
	}
}
