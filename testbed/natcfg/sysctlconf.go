package natcfg

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Sysctl is one assignment read from a sysctl.conf-style file.
type Sysctl struct {
	Key, Value string
	// Line is the 1-based line in the file.
	Line int
	// IgnoreError is set by a leading '-': a failure to set it is not fatal.
	IgnoreError bool
}

// ParseSysctlConf reads sysctl.conf syntax: "key = value" lines, blank
// lines, comments starting with '#' or ';', and a leading '-' that marks an
// assignment whose failure is ignored. name is used in error messages
// ("name:line: ..."); every bad line is reported.
func ParseSysctlConf(r io.Reader, name string) ([]Sysctl, error) {
	var out []Sysctl
	var errs []error
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' || text[0] == ';' {
			continue
		}
		s := Sysctl{Line: line}
		if text[0] == '-' {
			s.IgnoreError = true
			text = strings.TrimSpace(text[1:])
		}
		k, v, ok := strings.Cut(text, "=")
		if !ok {
			errs = append(errs, fmt.Errorf("%s:%d: %q has no '=', want key = value", name, line, text))
			continue
		}
		s.Key, s.Value = strings.TrimSpace(k), strings.TrimSpace(v)
		if s.Key == "" {
			errs = append(errs, fmt.Errorf("%s:%d: empty key, want key = value", name, line))
			continue
		}
		if strings.ContainsAny(s.Key, " \t") {
			errs = append(errs, fmt.Errorf("%s:%d: key %q contains spaces", name, line, s.Key))
			continue
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s:%d: read: %w", name, line+1, err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// ConfFile is a sysctl.conf-style file read on behalf of its reader (the
// scenario parser reads a file beside an embedded scenario): its name, for
// messages, and its content.
type ConfFile struct {
	Name string `json:"name"`
	Data []byte `json:"-"`
}
