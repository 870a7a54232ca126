package scenario

import (
	"bytes"
	"fmt"
	"math"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/natlab/natlab/internal/field"
	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natcfg"
	"github.com/natlab/natlab/testbed/service"
)

var (
	testbedKeys = []string{"nat", "nats", "blocks", "clients", "backends", "apps"}
	natKeys     = append([]string{"name", "ips", "ports", "mode", "hold", "port_selection", "allocation", "ports_per_host", "pools", "sysctls", "sysctls_file", "conn_limit"}, profileNATKeys...)
	poolKeys    = []string{"name", "ips", "blocks"}
	blockKeys   = []string{"name", "nat"}
	clientKeys  = []string{"name", "block", "addresses", "standby"}
	clientsKeys = []string{"hosts", "addresses", "block"}
	backendKeys = []string{"name", "protocol", "port", "extra", "backlog", "dependency", "verify_timeout"}
	extraKeys   = []string{"protocol", "port"}
	depKeys     = []string{"concurrency", "latency"}
)

// fieldPos maps testbed.Spec field paths ("nats[0].ports") to where they
// were written and to the name a user knows them by ("testbed.nat.ports").
type fieldPos struct {
	pos   map[string]Pos
	label map[string]string
	root  Pos
	// broken are the elements that could not be read at all: what
	// testbed.Validate says about them would only repeat that.
	broken []string
	// files names the file of the paths written in another file than the
	// scenario (a --nat-config candidate).
	files map[string]string
}

// isBroken reports whether path lies inside an element that could not be read.
func (f *fieldPos) isBroken(path string) bool {
	for _, b := range f.broken {
		if path == b || strings.HasPrefix(path, b+".") || strings.HasPrefix(path, b+"[") {
			return true
		}
	}
	return false
}

func (f *fieldPos) set(path, label string, pos Pos) {
	f.pos[path] = pos
	f.label[path] = label
}

// find returns the position and label of path, or of its nearest known
// parent, and the file it was written in ("" for the scenario).
func (f *fieldPos) find(path string) (Pos, string, string) {
	suffix := ""
	for path != "" {
		if pos, ok := f.pos[path]; ok {
			return pos, f.label[path] + suffix, f.files[path]
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		suffix = strings.TrimPrefix(path[i:], ".")
		if !strings.HasPrefix(suffix, "[") {
			suffix = "." + suffix
		}
		path = path[:i]
	}
	return f.root, "testbed", ""
}

// readFunc reads a file named relative to the scenario.
type readFunc func(rel string) ([]byte, error)

// testbed reads the testbed section into a normalized, validated Spec.
func (p *parser) testbed(n *yaml.Node, keyPos Pos, read readFunc) testbed.Spec {
	var spec testbed.Spec
	fp := &fieldPos{pos: map[string]Pos{}, label: map[string]string{}, files: map[string]string{}, root: keyPos}
	m := p.mapping(n, "testbed", testbedKeys)
	if m == nil {
		return spec
	}
	fp.root = posOf(m.node)
	switch nat, nats := m.get("nat"), m.get("nats"); {
	case nat != nil && nats != nil:
		p.errs.add(m.keyPos("nats"), "testbed has both nat and nats: use nat for one NAT box or nats for a list")
	case nat != nil:
		spec.NATs = []testbed.NATSpec{p.nat(nat, "testbed.nat", "nats[0]", fp, read)}
	case nats == nil && p.natConfig != nil:
		// The candidate sets the one NAT box the scenario leaves implicit.
		empty := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: m.node.Line, Column: m.node.Column}
		spec.NATs = []testbed.NATSpec{p.nat(empty, "testbed.nat", "nats[0]", fp, read)}
	case nats == nil:
		spec.NATs = []testbed.NATSpec{{IPs: 1}}
	default:
		fp.set("nats", "testbed.nats", m.keyPos("nats"))
		for i, item := range p.list(nats, "testbed.nats", false) {
			path, label := fmt.Sprintf("nats[%d]", i), fmt.Sprintf("testbed.nats[%d]", i)
			spec.NATs = append(spec.NATs, p.nat(item, label, path, fp, read))
		}
	}
	if b := m.get("blocks"); b != nil {
		fp.set("blocks", "testbed.blocks", m.keyPos("blocks"))
		for i, item := range p.list(b, "testbed.blocks", false) {
			path, label := fmt.Sprintf("blocks[%d]", i), fmt.Sprintf("testbed.blocks[%d]", i)
			bm := p.mapping(item, label, blockKeys)
			if bm == nil {
				fp.broken = append(fp.broken, path)
				spec.Blocks = append(spec.Blocks, testbed.BlockSpec{Name: fmt.Sprintf("block%d", i+1)})
				continue
			}
			fp.set(path, label, posOf(bm.node))
			var bs testbed.BlockSpec
			p.strField(bm, "name", label, path, fp, &bs.Name)
			p.strField(bm, "nat", label, path, fp, &bs.NAT)
			spec.Blocks = append(spec.Blocks, bs)
		}
	}
	fp.set("clients", "testbed.clients", m.keyPos("clients"))
	if c := m.get("clients"); c != nil {
		spec.Clients = p.clients(c, fp)
	}
	fp.set("backends", "testbed.backends", m.keyPos("backends"))
	if b := m.get("backends"); b != nil {
		for i, item := range p.list(b, "testbed.backends", false) {
			spec.Backends = append(spec.Backends, p.backend(item, i, fp))
		}
	}
	if a := m.get("apps"); a != nil {
		fp.set("apps", "testbed.apps", m.keyPos("apps"))
		spec.Apps = p.apps(a, fp)
	}
	spec.Normalize()
	p.specErrors(spec.Validate(), fp)
	if p.natConfig != nil && len(p.natBefore) == len(spec.NATs) {
		before := spec
		before.NATs = p.natBefore
		before.Normalize()
		p.natChange = natChanges(p.natConfig, before, spec)
	}
	return spec
}

// specErrors reports the problems testbed.Spec.Validate found at the
// positions of the fields they name.
func (p *parser) specErrors(err error, fp *fieldPos) {
	if err == nil {
		return
	}
	fields, other := field.List(err)
	for _, fe := range fields {
		if fp.isBroken(fe.Path) {
			continue
		}
		pos, label, file := fp.find(fe.Path)
		p.errs.addIn(file, pos, "%s: %s", label, fe.Msg)
	}
	for _, e := range other {
		p.errs.add(fp.root, "testbed: %v", e)
	}
}

// strField reads an optional string key of m into dst.
func (p *parser) strField(m *mapping, key, label, path string, fp *fieldPos, dst *string) {
	n := m.get(key)
	if n == nil {
		return
	}
	fp.set(path+"."+key, label+"."+key, posOf(n))
	if v, ok := p.str(n, label+"."+key); ok {
		*dst = v
	}
}

// intField reads an optional whole-number key of m into dst.
func (p *parser) intField(m *mapping, key, label, path string, fp *fieldPos, lo, hi int, dst *int) {
	n := m.get(key)
	if n == nil {
		return
	}
	fp.set(path+"."+key, label+"."+key, posOf(n))
	if v, ok := p.integer(n, label+"."+key, lo, hi); ok {
		*dst = v
	}
}

func (p *parser) nat(n *yaml.Node, label, path string, fp *fieldPos, read readFunc) testbed.NATSpec {
	ns := testbed.NATSpec{IPs: 1}
	m := p.mapping(n, label, natKeys)
	if m == nil {
		fp.broken = append(fp.broken, path)
		return ns
	}
	fp.set(path, label, posOf(m.node))
	p.strField(m, "name", label, path, fp, &ns.Name)
	if m.get("ips") == nil && m.get("pools") == nil {
		ns.IPs = 1
	}
	p.intField(m, "ips", label, path, fp, math.MinInt32, math.MaxInt32, &ns.IPs)
	if v := m.get("ports"); v != nil {
		fp.set(path+".ports", label+".ports", posOf(v))
		if s, ok := p.str(v, label+".ports"); ok {
			if r, err := portrange.Parse(s); err != nil {
				p.errs.add(posOf(v), "%s: %v", label+".ports", err)
			} else {
				ns.Ports = r
			}
		}
	}
	p.strField(m, "mode", label, path, fp, &ns.Mode)
	if v := m.get("hold"); v != nil {
		fp.set(path+".hold", label+".hold", posOf(v))
		ns.Hold, _ = p.duration(v, label+".hold")
	}
	var sel string
	p.strField(m, "port_selection", label, path, fp, &sel)
	ns.PortSelection = natcfg.PortSelection(sel)
	p.strField(m, "allocation", label, path, fp, &ns.Allocation)
	p.intField(m, "ports_per_host", label, path, fp, math.MinInt32, math.MaxInt32, &ns.PortsPerHost)
	p.intField(m, "conn_limit", label, path, fp, math.MinInt32, math.MaxInt32, &ns.ConnLimit)
	if p.natConfig == nil {
		p.natProfile(m, label, path, fp, &ns)
	} else {
		p.natBefore = append(p.natBefore, p.natCandidate(m, label, path, fp, &ns))
	}
	if v := m.get("pools"); v != nil {
		fp.set(path+".pools", label+".pools", m.keyPos("pools"))
		for j, item := range p.list(v, label+".pools", false) {
			pp, pl := fmt.Sprintf("%s.pools[%d]", path, j), fmt.Sprintf("%s.pools[%d]", label, j)
			pm := p.mapping(item, pl, poolKeys)
			if pm == nil {
				fp.broken = append(fp.broken, pp)
				ns.Pools = append(ns.Pools, testbed.PoolSpec{})
				continue
			}
			fp.set(pp, pl, posOf(pm.node))
			var pool testbed.PoolSpec
			p.strField(pm, "name", pl, pp, fp, &pool.Name)
			p.intField(pm, "ips", pl, pp, fp, math.MinInt32, math.MaxInt32, &pool.IPs)
			if b := pm.get("blocks"); b != nil {
				fp.set(pp+".blocks", pl+".blocks", posOf(b))
				for _, bn := range p.list(b, pl+".blocks", false) {
					if s, ok := p.str(bn, pl+".blocks"); ok {
						pool.Blocks = append(pool.Blocks, s)
					}
				}
			}
			ns.Pools = append(ns.Pools, pool)
		}
	}
	if v := m.get("sysctls_file"); v != nil {
		if rel, ok := p.str(v, label+".sysctls_file"); ok {
			for _, sc := range p.sysctlFile(v, rel, label, read) {
				fp.set(fmt.Sprintf("%s.sysctls[%d]", path, len(ns.Sysctls)), fmt.Sprintf("%s.sysctls_file (%s:%d)", label, rel, sc.Line), posOf(v))
				ns.Sysctls = append(ns.Sysctls, sc)
			}
		}
	}
	if v := m.get("sysctls"); v != nil {
		sm := p.mapping(v, label+".sysctls", nil)
		if sm != nil {
			for _, key := range sm.order {
				val := sm.vals[key]
				fp.set(fmt.Sprintf("%s.sysctls[%d]", path, len(ns.Sysctls)), label+".sysctls", posOf(sm.keys[key]))
				if s, ok := p.str(val, label+".sysctls."+key); ok {
					var b bool
					if deref(val).Tag == "!!bool" && deref(val).Decode(&b) == nil {
						// true and false mean 1 and 0, as in a sysctl fault.
						s = map[bool]string{true: "1", false: "0"}[b]
					}
					ns.Sysctls = append(ns.Sysctls, natcfg.Sysctl{Key: key, Value: s, Line: sm.keys[key].Line})
				}
			}
		}
	}
	return ns
}

// sysctlFile reads a sysctl.conf-style file named relative to the scenario.
func (p *parser) sysctlFile(at *yaml.Node, rel, label string, read readFunc) []natcfg.Sysctl {
	if read == nil {
		p.errs.add(posOf(at), "%s %q: no folder to read it from (parse with a file system, or load the scenario from a file)", label+".sysctls_file", rel)
		return nil
	}
	data, err := read(rel)
	if err != nil {
		p.errs.add(posOf(at), "%s: %v", label+".sysctls_file", err)
		return nil
	}
	out, err := natcfg.ParseSysctlConf(bytes.NewReader(data), rel)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			p.errs.add(posOf(at), "%s: %s", label+".sysctls_file", line)
		}
		return nil
	}
	return out
}

// clients reads the shorthand {hosts, addresses, block} or a list of hosts.
func (p *parser) clients(n *yaml.Node, fp *fieldPos) []testbed.ClientSpec {
	n = deref(n)
	if n.Kind == yaml.MappingNode {
		m := p.mapping(n, "testbed.clients", clientsKeys)
		if m == nil {
			fp.broken = append(fp.broken, "clients")
			return nil
		}
		hosts, addrs, block := 1, 0, ""
		if v := m.get("hosts"); v != nil {
			var ok bool
			if hosts, ok = p.integer(v, "testbed.clients.hosts", 1, testbed.MaxHostsPerRole); !ok {
				hosts = 1 // reported; go on with one host to check the rest
			}
		}
		if v := m.get("addresses"); v != nil {
			addrs, _ = p.integer(v, "testbed.clients.addresses", math.MinInt32, math.MaxInt32)
		}
		if v := m.get("block"); v != nil {
			block, _ = p.str(v, "testbed.clients.block")
		}
		out := make([]testbed.ClientSpec, hosts)
		for i := range out {
			out[i] = testbed.ClientSpec{Block: block, Addresses: addrs}
			path := fmt.Sprintf("clients[%d]", i)
			fp.set(path, "testbed.clients", posOf(m.node))
			for _, k := range clientsKeys {
				if m.get(k) != nil {
					fp.set(path+"."+k, "testbed.clients."+k, posOf(m.get(k)))
				}
			}
		}
		return out
	}
	var out []testbed.ClientSpec
	for i, item := range p.list(n, "testbed.clients", false) {
		path, label := fmt.Sprintf("clients[%d]", i), fmt.Sprintf("testbed.clients[%d]", i)
		cm := p.mapping(item, label, clientKeys)
		if cm == nil {
			fp.broken = append(fp.broken, path)
			out = append(out, testbed.ClientSpec{})
			continue
		}
		fp.set(path, label, posOf(cm.node))
		var c testbed.ClientSpec
		p.strField(cm, "name", label, path, fp, &c.Name)
		p.strField(cm, "block", label, path, fp, &c.Block)
		p.intField(cm, "addresses", label, path, fp, math.MinInt32, math.MaxInt32, &c.Addresses)
		if v := cm.get("standby"); v != nil {
			fp.set(path+".standby", label+".standby", posOf(v))
			c.Standby, _ = p.boolean(v, label+".standby")
		}
		out = append(out, c)
	}
	return out
}

// backend reads one backend host.
func (p *parser) backend(n *yaml.Node, i int, fp *fieldPos) testbed.BackendSpec {
	var b testbed.BackendSpec
	path, label := fmt.Sprintf("backends[%d]", i), fmt.Sprintf("testbed.backends[%d]", i)
	m := p.mapping(n, label, backendKeys)
	if m == nil {
		fp.broken = append(fp.broken, path)
		return b
	}
	fp.set(path, label, posOf(m.node))
	p.strField(m, "name", label, path, fp, &b.Name)
	var proto string
	p.strField(m, "protocol", label, path, fp, &proto)
	b.Protocol = service.Protocol(proto)
	var port int
	p.intField(m, "port", label, path, fp, 1, 65535, &port)
	b.Port = uint16(port)
	// A small backlog on purpose models a server that drops SYNs (the
	// report shows backend.NAME.listen_drops).
	p.intField(m, "backlog", label, path, fp, 1, 1<<20, &b.Backlog)
	// The standing capacity of the registrar's or rendezvous service's
	// dependency: lookups at once, each taking latency.
	if v := m.get("dependency"); v != nil {
		fp.set(path+".dependency", label+".dependency", m.keyPos("dependency"))
		if dm := p.mapping(v, label+".dependency", depKeys); dm != nil {
			p.intField(dm, "concurrency", label+".dependency", path+".dependency", fp, 1, 1<<20, &b.Dependency.Concurrency)
			if d := dm.get("latency"); d != nil {
				b.Dependency.Latency, _ = p.duration(d, label+".dependency.latency")
			}
		}
	}
	if v := m.get("verify_timeout"); v != nil {
		fp.set(path+".verify_timeout", label+".verify_timeout", m.keyPos("verify_timeout"))
		b.VerifyTimeout, _ = p.positiveDuration(v, label+".verify_timeout")
	}
	if v := m.get("extra"); v != nil {
		fp.set(path+".extra", label+".extra", m.keyPos("extra"))
		for j, item := range p.list(v, label+".extra", false) {
			ep, el := fmt.Sprintf("%s.extra[%d]", path, j), fmt.Sprintf("%s.extra[%d]", label, j)
			em := p.mapping(item, el, extraKeys)
			if em == nil {
				fp.broken = append(fp.broken, ep)
				b.Extra = append(b.Extra, testbed.BackendListener{})
				continue
			}
			fp.set(ep, el, posOf(em.node))
			var l testbed.BackendListener
			proto = ""
			p.strField(em, "protocol", el, ep, fp, &proto)
			l.Protocol = service.Protocol(proto)
			port = 0
			p.intField(em, "port", el, ep, fp, 1, 65535, &port)
			l.Port = uint16(port)
			b.Extra = append(b.Extra, l)
		}
	}
	return b
}
