package scenario

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/service"
)

var (
	appKeys      = []string{"name", "zone", "block", "hosts", "port", "dependency", "calls", "call_pool", "call_timeout", "health", "check", "boot"}
	appCheckKeys = []string{"interval", "timeout", "failures"}
	appBootKeys  = []string{"timeout", "backoff", "factor", "max_backoff"}
)

// apps reads testbed.apps: the app tiers behind the NATs.
func (p *parser) apps(n *yaml.Node, fp *fieldPos) []testbed.AppSpec {
	var out []testbed.AppSpec
	for i, item := range p.list(n, "testbed.apps", false) {
		path, label := fmt.Sprintf("apps[%d]", i), fmt.Sprintf("testbed.apps[%d]", i)
		m := p.mapping(item, label, appKeys)
		if m == nil {
			fp.broken = append(fp.broken, path)
			out = append(out, testbed.AppSpec{Name: fmt.Sprintf("app%d", i+1), Hosts: 1})
			continue
		}
		fp.set(path, label, posOf(m.node))
		var a testbed.AppSpec
		p.strField(m, "name", label, path, fp, &a.Name)
		p.strField(m, "zone", label, path, fp, &a.Zone)
		p.strField(m, "block", label, path, fp, &a.Block)
		p.intField(m, "hosts", label, path, fp, 1, testbed.MaxAppHosts, &a.Hosts)
		var port int
		p.intField(m, "port", label, path, fp, 1, 65535, &port)
		a.Port = uint16(port)
		a.Dependency, a.DependencyPort = p.backendRef(m, "dependency", label, path, fp)
		a.Health, a.HealthPort = p.backendRef(m, "health", label, path, fp)
		p.strField(m, "calls", label, path, fp, &a.Calls)
		p.intField(m, "call_pool", label, path, fp, 1, testbed.MaxCallPool, &a.CallPool)
		dur := func(m *mapping, key, label, path string, dst *time.Duration) {
			if v := m.get(key); v != nil {
				fp.set(path+"."+key, label+"."+key, posOf(v))
				*dst, _ = p.positiveDuration(v, label+"."+key)
			}
		}
		dur(m, "call_timeout", label, path, &a.CallTimeout)
		if v := m.get("check"); v != nil {
			cl, cp := label+".check", path+".check"
			fp.set(cp, cl, posOf(v))
			if cm := p.mapping(v, cl, appCheckKeys); cm != nil {
				dur(cm, "interval", cl, cp, &a.Check.Interval)
				dur(cm, "timeout", cl, cp, &a.Check.Timeout)
				p.intField(cm, "failures", cl, cp, fp, 1, 100, &a.Check.Failures)
			}
		}
		if v := m.get("boot"); v != nil {
			bl, bp := label+".boot", path+".boot"
			fp.set(bp, bl, posOf(v))
			if bm := p.mapping(v, bl, appBootKeys); bm != nil {
				dur(bm, "timeout", bl, bp, &a.Boot.Timeout)
				dur(bm, "backoff", bl, bp, &a.Boot.Backoff)
				dur(bm, "max_backoff", bl, bp, &a.Boot.MaxBackoff)
				if f := bm.get("factor"); f != nil {
					fp.set(bp+".factor", bl+".factor", posOf(f))
					if s, ok := p.str(f, bl+".factor"); ok {
						x, err := strconv.ParseFloat(s, 64)
						if err != nil {
							p.errs.add(posOf(f), "%s.factor: %q is not a number: want a backoff factor from 1 to 10, e.g. 2", bl, s)
						} else {
							a.Boot.Factor = x
						}
					}
				}
			}
		}
		out = append(out, a)
	}
	return out
}

// backendRef reads "backend" or "backend:port".
func (p *parser) backendRef(m *mapping, key, label, path string, fp *fieldPos) (string, uint16) {
	var s string
	p.strField(m, key, label, path, fp, &s)
	name, portText, hasPort := strings.Cut(s, ":")
	if !hasPort {
		return name, 0
	}
	n, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || n == 0 {
		p.errs.add(posOf(m.get(key)), "%s.%s %q: want a backend name, or name:port with a port from 1 to 65535", label, key, s)
		return name, 0
	}
	return name, uint16(n)
}

// appTarget reads a load target that names an app tier; false when the
// target is not an app (a backend, or nothing).
func (p *parser) appTarget(m *mapping, l *LoadSpec, spec *testbed.Spec) bool {
	v := m.get("target")
	if v == nil {
		return false
	}
	s, ok := p.str(v, "target")
	if !ok {
		return false
	}
	var app *testbed.AppSpec
	for i := range spec.Apps {
		if spec.Apps[i].Name == s {
			app = &spec.Apps[i]
		}
	}
	if app == nil {
		return false
	}
	l.Target, l.Port, l.App = app.Name, app.Port, true
	if l.Strategy.Kind == "" {
		l.Strategy.Kind = strategyFor[service.HTTP1]
	} else if !speaks(l.Strategy.Kind, service.HTTP1) {
		p.errs.add(m.keyPos("strategy"), "strategy %s cannot talk to app %s, which serves http1: use strategy %s", l.Strategy.Kind, app.Name, strategyFor[service.HTTP1])
	}
	var callers []string
	for _, c := range spec.Clients {
		if c.Block == app.Block {
			callers = append(callers, c.Name)
		}
	}
	switch {
	case l.Client != "" && !slices.Contains(callers, l.Client):
		p.errs.add(posOf(m.get("client")), "load.client %s cannot call app %s: an internal caller reaches the app hosts of its own block (%s), not through a NAT; client hosts of block %s are %s",
			l.Client, app.Name, app.Block, app.Block, orNone(callers))
	case len(callers) == 0:
		p.errs.add(posOf(v), "load.target %s: no client host is in block %s to call it: give the block a client host (the internal load balancer's node of that zone)", app.Name, app.Block)
	}
	return true
}

// appNames lists the app tiers.
func appNames(spec *testbed.Spec) []string {
	var out []string
	for _, a := range spec.Apps {
		out = append(out, a.Name)
	}
	return out
}
