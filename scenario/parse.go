package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/natlab/natlab/loadgen"
)

// Options are what Parse and Load need besides the file itself.
type Options struct {
	// Faults checks fault kinds and parameters. Without it a scenario
	// with faults is refused.
	Faults FaultCatalog
	// Sets override values before the file is read, as PATH=VALUE
	// (`natlab run --set phases[1].duration=30s`).
	Sets []string
	// FS holds the files a scenario names (sysctls_file), looked up
	// relative to the folder of the scenario's name inside FS. Load reads
	// from the scenario's folder on disk when FS is nil.
	FS fs.FS
	// Machine bounds the magnitudes of loads (connections held at once,
	// arrival rates); nil reads this machine (ReadMachine).
	Machine *Machine
	// NATConfig replaces the profile keys of every NAT box with a
	// candidate's (`natlab run --nat-config`); its problems are told at
	// their place in its own file.
	NATConfig *NATConfig
}

// machine is what bounds the loads: Machine, or this machine.
func (o Options) machine() Machine {
	if o.Machine != nil {
		return *o.Machine
	}
	return ReadMachine()
}

var topKeys = []string{"name", "description", "incident", "kind", "testbed", "tick", "phases", "faults", "alarms", "assert"}

// Load reads and parses the scenario file at path. Problems in the file are
// returned as *Errors; a file that cannot be read gives a plain error.
func Load(file string, opts Options) (*Scenario, error) {
	data, err := readBounded(file)
	if err != nil {
		return nil, err
	}
	read := func(rel string) ([]byte, error) {
		if opts.FS != nil {
			return fs.ReadFile(opts.FS, path.Join(path.Dir(filepath.ToSlash(file)), rel))
		}
		if !filepath.IsAbs(rel) {
			rel = filepath.Join(filepath.Dir(file), rel)
		}
		return os.ReadFile(rel)
	}
	dir := ""
	if opts.FS == nil {
		dir = filepath.Dir(file)
	}
	return parse(file, data, opts, read, dir)
}

// Parse parses a scenario. name is used in error positions and, with
// opts.FS, to find files the scenario names relative to it. Every problem
// is reported at once in an *Errors.
func Parse(name string, data []byte, opts Options) (*Scenario, error) {
	var read readFunc
	if opts.FS != nil {
		read = func(rel string) ([]byte, error) {
			return fs.ReadFile(opts.FS, path.Join(path.Dir(name), rel))
		}
	}
	return parse(name, data, opts, read, "")
}

// parse reads a scenario; dir, when not empty, is the folder on disk that
// relative file parameters of faults are resolved against.
func parse(name string, data []byte, opts Options, read readFunc, dir string) (*Scenario, error) {
	errs := &collector{file: name}
	p := &parser{errs: errs, dir: dir, read: read, natConfig: opts.NATConfig}
	if len(data) > maxFileSize {
		errs.add(Pos{1, 1}, "the file is larger than %d KiB: a scenario file is at most %d KiB", maxFileSize>>10, maxFileSize>>10)
		return nil, errs.err()
	}
	doc, ok := decodeOne(data, errs)
	if !ok {
		return nil, errs.err()
	}
	if !checkShape(&doc, errs) {
		return nil, errs.err()
	}
	applySets(&doc, opts.Sets, errs)
	if opts.NATConfig != nil {
		refuseProfileSets(opts.Sets, opts.NATConfig.File, errs)
	}
	if len(doc.Content) == 0 {
		errs.add(Pos{1, 1}, "the file is empty: a scenario is a mapping with keys %s", strings.Join(topKeys, ", "))
		return nil, errs.err()
	}
	m := p.mapping(doc.Content[0], "the scenario", topKeys)
	if m == nil {
		return nil, errs.err()
	}
	s := &Scenario{File: name, Tick: loadgen.DefaultTick}
	s.Name = strings.TrimSuffix(path.Base(filepath.ToSlash(name)), path.Ext(name))
	if v := m.get("name"); v != nil {
		if n, ok := p.str(v, "name"); ok && n != "" {
			s.Name = n
		}
	}
	if v := m.get("description"); v != nil {
		s.Description, _ = p.str(v, "description")
	}
	p.meta(m, s)
	if v := m.get("tick"); v != nil {
		if d, ok := p.duration(v, "tick"); ok {
			if d < loadgen.MinTick {
				errs.add(posOf(v), "tick %s: want at least %s", d, loadgen.MinTick)
			} else {
				s.Tick = d
			}
		}
	}
	if v := m.get("testbed"); v == nil {
		errs.add(posOf(m.node), "the scenario has no testbed: describe at least clients and backends")
	} else {
		s.Testbed = p.testbed(v, m.keyPos("testbed"), read)
	}
	if v := m.get("phases"); v == nil {
		errs.add(posOf(m.node), "the scenario has no phases: give at least one, e.g. phases: [{name: steady, duration: 30s, load: {rate: 100/s}}]")
	} else {
		p.machine = opts.machine()
		s.Phases = p.phases(v, &s.Testbed, s.Tick)
	}
	if v := m.get("alarms"); v != nil {
		s.Alarms = p.alarms(v)
	}
	if v := m.get("faults"); v != nil {
		s.Faults = p.faults(v, &s.Testbed, s.Duration(), opts.Faults)
	}
	if v := m.get("assert"); v != nil {
		env := assertEnv{faults: map[string]Fault{}, tick: s.Tick}
		env.metrics.backends = backendNames(&s.Testbed)
		env.metrics.apps = appNames(&s.Testbed)
		env.metrics.clients = clientNames(&s.Testbed)
		for _, a := range s.Alarms {
			env.metrics.alarms = append(env.metrics.alarms, a.Name)
		}
		for _, ph := range s.Phases {
			env.phases = append(env.phases, ph.Name)
		}
		for _, f := range s.Faults {
			env.faults[f.Name] = f
			env.metrics.faults = append(env.metrics.faults, f.Name)
			switch f.Kind {
			case FaultKindNATConfig:
				env.metrics.natConfigs = append(env.metrics.natConfigs, f.Name)
			case FaultKindVMStart:
				env.metrics.vmStarts = append(env.metrics.vmStarts, f.Name)
			}
		}
		s.Asserts = p.asserts(v, env)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	s.NATChange = p.natChange
	return s, nil
}

// readBounded reads at most maxFileSize+1 bytes of file, so that a huge
// file or a device that never ends is refused without being read whole.
func readBounded(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("load scenario: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("load scenario %s: %w", file, err)
	}
	return data, nil
}

// decodeOne decodes the one YAML document a scenario file holds. A syntax
// error is reported where the YAML parser found it, and a second document
// is refused rather than silently ignored.
func decodeOne(data []byte, errs *collector) (yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return yaml.Node{}, true // an empty file, reported by the caller
		}
		pos, msg := syntaxError(err)
		errs.add(pos, "yaml syntax: %s", msg)
		return doc, false
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
		return doc, true
	case err != nil:
		pos, msg := syntaxError(err)
		errs.add(pos, "yaml syntax: %s", msg)
	default:
		errs.add(Pos{Line: max(next.Line, 1), Col: 1}, "a second YAML document starts here: a scenario file holds one document; remove the '---' line and what follows, or put it in a file of its own")
	}
	return doc, false
}

// checkShape refuses a document too large or too deeply nested to be a
// scenario, saying which limit it passed.
func checkShape(doc *yaml.Node, errs *collector) bool {
	s := measure(doc)
	switch {
	case s.tooDeep != nil:
		errs.add(posOf(s.tooDeep), "values nest more than %d levels deep here: a scenario nests a few levels (testbed.nat.sysctls is the deepest key)", maxDepth)
	case s.values > maxValues:
		errs.add(Pos{1, 1}, "the file holds more than %d values: a scenario holds a few hundred", maxValues)
	case s.selfAlias != nil:
		errs.add(posOf(s.selfAlias), "alias *%s refers to the anchor it is inside: an alias must refer to a value defined before and outside it", s.selfAlias.Value)
	case s.expanded > maxValues:
		errs.add(Pos{1, 1}, "the file holds more than %d values once its aliases are expanded: write the scenario out without nested aliases", maxValues)
	default:
		return true
	}
	return false
}

// syntaxError gives the position and message of a YAML syntax error, with
// the construct it was in when the parser says so.
func syntaxError(err error) (Pos, string) {
	var le *yaml.LoadError
	if !errors.As(err, &le) {
		return Pos{1, 1}, strings.TrimPrefix(err.Error(), "yaml: ")
	}
	msg := le.Message
	// "while scanning a plain scalar" and "for the next token" only point
	// back at the previous value; an open bracket or quote helps.
	noise := strings.Contains(le.ContextMsg, "plain scalar") || strings.Contains(le.ContextMsg, "next token")
	if le.ContextMsg != "" && !noise && le.ContextMark.Line > 0 && le.ContextMark != le.Mark {
		msg += fmt.Sprintf(" (%s that starts at %d:%d)", le.ContextMsg, le.ContextMark.Line, le.ContextMark.Column)
	}
	return Pos{Line: max(le.Mark.Line, 1), Col: max(le.Mark.Column, 1)}, msg
}
