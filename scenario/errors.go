package scenario

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Pos is a position in a scenario file: 1-based line and column.
type Pos struct {
	Line int `json:"line"`
	Col  int `json:"col"`
}

// String renders the position as "line:col".
func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Error is one problem in a scenario file, located by line and column.
type Error struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
	Msg  string `json:"msg"`
}

// Error renders the problem as "FILE:LINE:COL: message" (a problem of a
// --set override, which has no line, as "--set PATH=VALUE: message").
func (e Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Errors is every problem found in a scenario file, in file order. Parse and
// Load return it (as *Errors) whenever the file is not a valid scenario, so
// a CLI can print the problems one per line and exit with status 2.
type Errors struct {
	List []Error `json:"errors"`
}

// Error renders every problem, one per line.
func (e *Errors) Error() string {
	lines := make([]string, len(e.List))
	for i, x := range e.List {
		lines[i] = x.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems as errors, for errors.Is and errors.As.
func (e *Errors) Unwrap() []error {
	out := make([]error, len(e.List))
	for i, x := range e.List {
		out[i] = x
	}
	return out
}

// collector gathers the problems of one file.
type collector struct {
	file string
	list []Error
}

// add records a problem at pos.
func (c *collector) add(pos Pos, format string, args ...any) {
	if pos.Line < 1 {
		pos = Pos{1, 1}
	}
	if pos.Col < 1 {
		pos.Col = 1
	}
	c.list = append(c.list, Error{File: c.file, Line: pos.Line, Col: pos.Col, Msg: fmt.Sprintf(format, args...)})
}

// addIn records a problem at pos in file, another file than the one
// being parsed (the scenario's own when file is empty).
func (c *collector) addIn(file string, pos Pos, format string, args ...any) {
	n := len(c.list)
	c.add(pos, format, args...)
	if file != "" {
		c.list[n].File = file
	}
}

// addSet records a problem of a --set override.
func (c *collector) addSet(set, format string, args ...any) {
	c.list = append(c.list, Error{File: "--set " + set, Msg: fmt.Sprintf(format, args...)})
}

// err returns the problems sorted by position, or nil when there are none.
func (c *collector) err() error {
	if len(c.list) == 0 {
		return nil
	}
	list := slices.Clone(c.list)
	// The file's own problems (and --set's) first, then those of other
	// files (a --nat-config candidate), each by position.
	other := func(e Error) string {
		if e.File == c.file || e.Line == 0 {
			return ""
		}
		return e.File
	}
	slices.SortStableFunc(list, func(a, b Error) int {
		return cmp.Or(cmp.Compare(other(a), other(b)), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	list = slices.Compact(list)
	return &Errors{List: list}
}
