package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/internal/field"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natcfg"
)

var sysctlParams = []Param{
	{Name: "set", Type: "map", Doc: "keys and values, e.g. {net.ipv4.ip_forward: 0}; only net.* keys (per namespace) this kernel has, each value of the shape its key takes (0 or 1 for a switch, a whole number where the key holds one now)"},
	{Name: "file", Type: "string", Doc: "a sysctl.conf-style file, relative to the scenario, applied in order ('-' before a key ignores its failure): a profile as config management pushes it, e.g. fixtures/sysctl/somaxconn-bundle.conf; give set or file"},
}

var sysctlKind = Kind{
	Name:    "sysctl",
	Summary: "set sysctls on a host, as a config-management run would; revert restores the previous values",
	Params:  sysctlParams,
	Roles:   []testbed.Role{testbed.RoleNAT, testbed.RoleBackend, testbed.RoleClient},
	New:     newSysctl,
}

func newSysctl(t Target, params map[string]any) (Fault, error) {
	r := newReader(params, sysctlParams)
	var sets []natcfg.Sysctl
	source := ""
	if r.has("set") == r.has("file") {
		r.bad("", "give either set: {key: value} or file: path.conf, not both or neither")
	}
	if m, ok := r.mapping("set"); ok {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if len(keys) == 0 {
			r.bad("set", "empty, give at least one key such as net.ipv4.ip_forward: 0")
		}
		for _, k := range keys {
			v, err := scalar(m[k])
			path := field.Join("set", field.Key(k))
			if err != nil {
				r.bad(path, "%v", err)
				continue
			}
			if err := checkSysctl(k, v); err != nil {
				r.bad(path, "%v", err)
			}
			sets = append(sets, natcfg.Sysctl{Key: k, Value: v})
		}
	}
	var file io.ReadCloser
	path, ok := "", false
	if cf, isConf := params["file"].(natcfg.ConfFile); isConf {
		// The scenario parser read it (a file beside an embedded scenario).
		r.get("file")
		file, path, ok = io.NopCloser(bytes.NewReader(cf.Data)), cf.Name, true
	} else if path, ok = r.str("file"); ok {
		f, err := os.Open(path)
		if err != nil {
			r.bad("file", "%v", err)
			ok = false
		} else {
			file = f
		}
	}
	if ok {
		{
			f := file
			parsed, err := natcfg.ParseSysctlConf(f, path)
			_ = f.Close()
			if err != nil {
				r.bad("file", "%v", err)
			} else if len(parsed) == 0 {
				r.bad("file", "%s sets no keys", path)
			}
			for _, s := range parsed {
				// '-' in front of a key lets it fail, as in sysctl.conf.
				if err := checkSysctl(s.Key, s.Value); err != nil && !s.IgnoreError {
					r.bad("file", "%s:%d: %v", path, s.Line, err)
				}
			}
			sets = parsed
			source = path
		}
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	return &sysctlFault{host: t.Host, sets: sets, source: source}, nil
}

// checkSysctl accepts net.* keys (the per-namespace ones) that this
// kernel has, with a value of the shape the key takes.
func checkSysctl(key, value string) error {
	if err := natcfg.ValidateSysctlKey(key); err != nil {
		return err
	}
	return natcfg.ValidateSysctlValue(key, value)
}

// sysctlFault sets sysctls and restores them.
type sysctlFault struct {
	host   string
	sets   []natcfg.Sysctl
	source string // file name, "" for set:

	// before holds the values read at inject, in the order they were read.
	before   []natcfg.Sysctl
	injected bool
}

// Touches names every key the fault sets.
func (f *sysctlFault) Touches() []string {
	out := make([]string, len(f.sets))
	for i, s := range f.sets {
		out[i] = "sysctl " + strings.ReplaceAll(s.Key, "/", ".")
	}
	return out
}

func (f *sysctlFault) Describe() string {
	if f.source != "" {
		return fmt.Sprintf("apply sysctl file %s (%d keys) on %s", f.source, len(f.sets), f.host)
	}
	parts := make([]string, len(f.sets))
	for i, s := range f.sets {
		parts[i] = s.Key + "=" + s.Value
	}
	return fmt.Sprintf("set %s on %s", strings.Join(parts, " "), f.host)
}

func (f *sysctlFault) Inject(ctx context.Context, env Env) error {
	if f.injected {
		return fmt.Errorf("inject %s: already injected", f.Describe())
	}
	if _, ok := roleOf(env.Spec(), f.host); !ok {
		_, err := needRole(env, "sysctl", f.host)
		return err
	}
	seen := map[string]bool{}
	var before []natcfg.Sysctl
	for _, s := range f.sets {
		if seen[s.Key] {
			continue
		}
		seen[s.Key] = true
		v, err := getSysctl(ctx, env, f.host, s.Key)
		if err != nil {
			if s.IgnoreError {
				continue
			}
			return fmt.Errorf("record sysctls on %s: %w", f.host, err)
		}
		before = append(before, natcfg.Sysctl{Key: s.Key, Value: v})
	}
	f.before = before
	f.injected = true
	if err := call(ctx, env, f.host, wire.OpSysctlSet, f.sets, nil); err != nil {
		return fmt.Errorf("set sysctls on %s: %w", f.host, err)
	}
	return nil
}

func (f *sysctlFault) Revert(ctx context.Context, env Env) error {
	if !f.injected {
		return nil
	}
	restore := make([]natcfg.Sysctl, 0, len(f.before))
	for i := len(f.before) - 1; i >= 0; i-- {
		restore = append(restore, f.before[i])
	}
	if err := call(ctx, env, f.host, wire.OpSysctlSet, restore, nil); err != nil {
		return fmt.Errorf("restore sysctls on %s: %w", f.host, err)
	}
	f.injected = false
	return nil
}

func (f *sysctlFault) Verify(ctx context.Context, env Env) error {
	var errs []error
	for _, s := range f.before {
		v, err := getSysctl(ctx, env, f.host, s.Key)
		if err != nil {
			errs = append(errs, fmt.Errorf("verify %s on %s: %w", s.Key, f.host, err))
			continue
		}
		if v != s.Value {
			errs = append(errs, fmt.Errorf("verify: %s on %s is %q, was %q before the inject", s.Key, f.host, v, s.Value))
		}
	}
	return errors.Join(errs...)
}

func getSysctl(ctx context.Context, env Env, host, key string) (string, error) {
	var got map[string]string
	if err := call(ctx, env, host, wire.OpSysctlGet, []string{key}, &got); err != nil {
		return "", err
	}
	v, ok := got[key]
	if !ok {
		return "", fmt.Errorf("read %s: the agent did not answer it", key)
	}
	return v, nil
}
