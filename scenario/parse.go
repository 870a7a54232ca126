package scenario

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

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
}

// machine is what bounds the loads: Machine, or this machine.
func (o Options) machine() Machine {
	if o.Machine != nil {
		return *o.Machine
	}
	return ReadMachine()
}

var topKeys = []string{"name", "description", "testbed", "tick", "phases", "faults", "alarms", "assert"}

// Load reads and parses the scenario file at path. Problems in the file are
// returned as *Errors; a file that cannot be read gives a plain error.
func Load(file string, opts Options) (*Scenario, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("load scenario: %w", err)
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
	p := &parser{errs: errs, dir: dir}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		pos, msg := syntaxError(err)
		errs.add(pos, "yaml syntax: %s", msg)
		return nil, errs.err()
	}
	if expandedSize(&doc, maxValues) > maxValues {
		errs.add(Pos{1, 1}, "the file holds more than %d values once its aliases are expanded: write the scenario out without nested aliases", maxValues)
		return nil, errs.err()
	}
	applySets(&doc, opts.Sets, errs)
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
		for _, a := range s.Alarms {
			env.metrics.alarms = append(env.metrics.alarms, a.Name)
		}
		for _, ph := range s.Phases {
			env.phases = append(env.phases, ph.Name)
		}
		for _, f := range s.Faults {
			env.faults[f.Name] = f
		}
		s.Asserts = p.asserts(v, env)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return s, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parserProblems are the messages of the yaml parser stage, whose line
// numbers count from 0 (those of its scanner count from 1).
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

// syntaxError extracts the line of a yaml syntax error.
func syntaxError(err error) (Pos, string) {
	msg := err.Error()
	if te, ok := err.(*yaml.TypeError); ok && len(te.Errors) > 0 {
		msg = "yaml: " + te.Errors[0]
	}
	if sm := yamlLine.FindStringSubmatch(msg); sm != nil {
		line, _ := strconv.Atoi(sm[1])
		if parserProblems[sm[2]] {
			line++ // the yaml parser (not its scanner) reports 0-based lines
		}
		return Pos{Line: line, Col: 1}, sm[2]
	}
	return Pos{1, 1}, strings.TrimPrefix(msg, "yaml: ")
}
