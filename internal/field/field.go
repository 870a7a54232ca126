// Package field is natlab's one typed validation error: a problem with one
// field of an input, located by a path, so that whoever read the input
// (the scenario parser) can put it at the line and column it came from.
//
// Validators (loadgen.Plan.Validate, testbed.Spec.Validate, the chaos
// kinds) return *Error values joined with errors.Join; Prefix moves them
// under a parent field and List takes them out again.
//
// A path is keys joined by dots with list indexes in brackets,
// "nats[0].ports", "phases[1].schedule.rate"; a key that holds dots itself
// (a sysctl name) is written in brackets: "set[net.ipv4.ip_forward]".
package field

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Error is one problem with one field.
type Error struct {
	// Path locates the field, relative to what was validated.
	Path string
	// Msg says what is wrong and what would be valid.
	Msg string
	// Valid lists the valid names or values when they are a short list
	// (Msg names them too); nil otherwise.
	Valid []string
	// Unknown is set when the field itself is not known (an unknown
	// parameter): the problem is the key, not its value, and Valid lists
	// the known keys.
	Unknown bool
}

// Error renders the problem as "path: message".
func (e *Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Errorf returns a problem of the field at path.
func Errorf(path, format string, args ...any) *Error {
	return &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Join appends path to prefix: Join("nats[0]", "ports") is
// "nats[0].ports", Join("sources", "[2]") is "sources[2]".
func Join(prefix, path string) string {
	switch {
	case prefix == "":
		return path
	case path == "":
		return prefix
	case strings.HasPrefix(path, "["):
		return prefix + path
	}
	return prefix + "." + path
}

// Key renders a mapping key as a path step, in brackets when it holds a
// dot: Join("set", Key("net.ipv4.ip_forward")) is
// "set[net.ipv4.ip_forward]".
func Key(k string) string {
	if strings.ContainsAny(k, ".[]") {
		return "[" + k + "]"
	}
	return k
}

// Prefix returns err with prefix put before the path of every *Error it
// holds, however deeply joined; other errors are kept as they are. The
// errors are copied, not changed. Prefix(p, nil) is nil.
func Prefix(prefix string, err error) error {
	if err == nil {
		return nil
	}
	fields, other := List(err)
	out := make([]error, 0, len(fields)+len(other))
	for _, f := range fields {
		c := *f
		c.Path = Join(prefix, f.Path)
		out = append(out, &c)
	}
	return errors.Join(append(out, other...)...)
}

// List takes err apart: the *Error values it holds (err itself, or inside
// errors.Join, however deeply), and every other error. An error that wraps
// an *Error with text of its own counts as other: its text would be lost.
func List(err error) (fields []*Error, other []error) {
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if f, ok := e.(*Error); ok {
			fields = append(fields, f)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		other = append(other, e)
	}
	walk(err)
	return fields, other
}

// Step is one step of a path: a key of a mapping, or an index of a list.
type Step struct {
	Key string
	// Index is the list index; -1 for a key.
	Index int
}

// Steps splits a path into its steps: "nats[0].ports" is nats, [0],
// ports, and "set[net.ipv4.ip_forward]" is set, net.ipv4.ip_forward.
func Steps(path string) []Step {
	var out []Step
	for path != "" {
		switch path[0] {
		case '.':
			path = path[1:]
		case '[':
			end := strings.IndexByte(path, ']')
			if end < 0 {
				end = len(path)
			}
			inner := path[1:end]
			if n, err := strconv.Atoi(inner); err == nil && n >= 0 {
				out = append(out, Step{Index: n})
			} else {
				out = append(out, Step{Key: inner, Index: -1})
			}
			path = path[min(end+1, len(path)):]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			out = append(out, Step{Key: path[:end], Index: -1})
			path = path[end:]
		}
	}
	return out
}
