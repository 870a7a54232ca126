package chaos

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/natlab/natlab/internal/field"
)

// reader takes typed values out of a params map, collecting every problem
// as a *field.Error whose path is the parameter, so a kind can report them
// all at once and a scenario parser can place each at its parameter.
type reader struct {
	params map[string]any
	valid  []Param
	used   map[string]bool
	errs   []error
}

func newReader(params map[string]any, valid []Param) *reader {
	return &reader{params: params, valid: valid, used: map[string]bool{}}
}

// bad records a problem of the parameter at path ("" is the fault as a
// whole: a problem of several parameters together).
func (r *reader) bad(path, format string, args ...any) {
	r.errs = append(r.errs, field.Errorf(path, format, args...))
}

// add records problems found elsewhere (already field errors, or plain
// errors that then belong to the fault as a whole).
func (r *reader) add(err error) {
	if err != nil {
		r.errs = append(r.errs, err)
	}
}

// has reports whether key was given.
func (r *reader) has(key string) bool {
	_, ok := r.params[key]
	return ok
}

func (r *reader) get(key string) (any, bool) {
	r.used[key] = true
	v, ok := r.params[key]
	return v, ok && v != nil
}

// str reads a string (numbers are accepted and printed).
func (r *reader) str(key string) (string, bool) {
	v, ok := r.get(key)
	if !ok {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	case int, int64, uint64, float64, bool:
		return fmt.Sprint(x), true
	}
	r.bad(key, "want a string, got %s", describe(v))
	return "", false
}

// integer reads a whole number within [lo, hi].
func (r *reader) integer(key string, lo, hi int) (int, bool) {
	v, ok := r.get(key)
	if !ok {
		return 0, false
	}
	n, err := toInt(v)
	if err != nil {
		r.bad(key, "%v", err)
		return 0, false
	}
	if n < lo || n > hi {
		r.bad(key, "%d is out of range, want %d-%d", n, lo, hi)
		return 0, false
	}
	return n, true
}

// duration reads "30s"-style text or a number of seconds, at least min.
func (r *reader) duration(key string, minimum time.Duration) (time.Duration, bool) {
	v, ok := r.get(key)
	if !ok {
		return 0, false
	}
	d, err := toDuration(v)
	if err != nil {
		r.bad(key, "%v", err)
		return 0, false
	}
	if d < minimum {
		r.bad(key, "%s is too short, want at least %s", d, minimum)
		return 0, false
	}
	return d, true
}

// mapping reads a nested map.
func (r *reader) mapping(key string) (map[string]any, bool) {
	v, ok := r.get(key)
	if !ok {
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		r.bad(key, "want a map of key: value, got %s", describe(v))
		return nil, false
	}
	return m, true
}

// boolean reads true or false.
func (r *reader) boolean(key string) (bool, bool) {
	v, ok := r.get(key)
	if !ok {
		return false, false
	}
	b, ok := v.(bool)
	if !ok {
		r.bad(key, "want true or false, got %s", describe(v))
	}
	return b, ok
}

// oneOf reads a string that must be one of choices.
func (r *reader) oneOf(key string, choices ...string) (string, bool) {
	s, ok := r.str(key)
	if !ok {
		return "", false
	}
	for _, c := range choices {
		if s == c {
			return s, true
		}
	}
	r.errs = append(r.errs, &field.Error{Path: key, Msg: fmt.Sprintf("%q is not valid, want one of: %s", s, strings.Join(choices, ", ")), Valid: choices})
	return "", false
}

// require reports a missing required key.
func (r *reader) require(key string) {
	if _, ok := r.params[key]; !ok {
		r.bad(key, "required")
	}
}

// done reports unknown keys and returns every problem found.
func (r *reader) done() error {
	var unknown []string
	for k := range r.params {
		if !r.used[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		names := make([]string, len(r.valid))
		for i, p := range r.valid {
			names[i] = p.Name
		}
		for _, k := range unknown {
			msg := "unknown parameter, this kind takes none"
			if len(names) > 0 {
				msg = "unknown parameter, valid ones are: " + strings.Join(names, ", ")
			}
			r.errs = append(r.errs, &field.Error{Path: field.Key(k), Msg: msg, Valid: names, Unknown: true})
		}
	}
	return errors.Join(r.errs...)
}

func toInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case uint64:
		if x > math.MaxInt32 {
			return 0, fmt.Errorf("%d is too large", x)
		}
		return int(x), nil
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > math.MaxInt32 {
			return 0, fmt.Errorf("%v: want a whole number", x)
		}
		return int(x), nil
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil {
			return 0, fmt.Errorf("%q: want a whole number", x)
		}
		return n, nil
	}
	return 0, fmt.Errorf("want a whole number, got %s", describe(v))
}

// toDuration reads Go duration text ("30s", "1m30s") or a bare number of
// seconds.
func toDuration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case int, int64, uint64:
		n, err := toInt(x)
		return time.Duration(n) * time.Second, err
	case float64:
		return time.Duration(x * float64(time.Second)), nil
	case string:
		s := strings.TrimSpace(x)
		if n, err := strconv.ParseFloat(s, 64); err == nil {
			return time.Duration(n * float64(time.Second)), nil
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%q: want a duration such as 30s or 1m, or a number of seconds", x)
		}
		return d, nil
	}
	return 0, fmt.Errorf("want a duration such as 30s, got %s", describe(v))
}

// scalar renders a YAML scalar as the text a sysctl file would hold.
func scalar(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		if x {
			return "1", nil
		}
		return "0", nil
	case int, int64, uint64:
		return fmt.Sprint(x), nil
	case float64:
		if x == math.Trunc(x) {
			return strconv.FormatInt(int64(x), 10), nil
		}
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	}
	return "", fmt.Errorf("want a number or a string, got %s", describe(v))
}

func describe(v any) string {
	switch v.(type) {
	case map[string]any:
		return "a map"
	case []any:
		return "a list"
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("%T %v", v, v)
}
