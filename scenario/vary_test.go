package scenario

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseVary(t *testing.T) {
	d, err := ParseVary("phases[*].load.pool=none,keepalive")
	require.NoError(t, err)
	assert.Equal(t, Dimension{Path: "phases[*].load.pool", Values: []string{"none", "keepalive"}}, d)

	d, err = ParseVary("testbed.nat={ips: 1, ports: 1024-1279},{ips: 2, ports: '1024-1279'}")
	require.NoError(t, err)
	assert.Equal(t, []string{"{ips: 1, ports: 1024-1279}", "{ips: 2, ports: '1024-1279'}"}, d.Values, "commas inside braces do not split")

	for in, msg := range map[string]string{
		"nonsense":             "want PATH=V1,V2",
		"phases[x].load=a,b":   "is not a path",
		"phases[*].load.pool=": "an empty value",
		"a.b=1,1":              "given twice",
	} {
		_, err := ParseVary(in)
		assert.ErrorContains(t, err, msg, in)
	}
}

func TestParseVariant(t *testing.T) {
	v, err := ParseVariant("h2c: phases[*].load.strategy=h2c; phases[*].load.pool=keepalive")
	require.NoError(t, err)
	assert.Equal(t, Variant{Name: "h2c", Sets: []string{"phases[*].load.strategy=h2c", "phases[*].load.pool=keepalive"}}, v)
	for in, msg := range map[string]string{
		"no name here":      "want NAME: PATH=VALUE",
		"bad name: a.b=1":   "want NAME",
		"x: ":               "no PATH=VALUE",
		"x: phases[x].a=1":  "is not a path",
		"x: novalue; a.b=1": "want PATH=VALUE",
	} {
		_, err := ParseVariant(in)
		assert.ErrorContains(t, err, msg, in)
	}
}

func TestVariantsMatrix(t *testing.T) {
	pool, _ := ParseVary("phases[*].load.pool=none,keepalive")
	size, _ := ParseVary("phases[*].load.pool_size=8,32")
	vs, err := Variants(nil, []Dimension{pool, size})
	require.NoError(t, err)
	var names []string
	for _, v := range vs {
		names = append(names, v.Name)
	}
	assert.Equal(t, []string{"pool=none pool_size=8", "pool=none pool_size=32", "pool=keepalive pool_size=8", "pool=keepalive pool_size=32"}, names)
	assert.Equal(t, []string{"phases[*].load.pool=keepalive", "phases[*].load.pool_size=32"}, vs[3].Sets)

	a, _ := ParseVary("phases[0].load.rate=10/s,20/s")
	b, _ := ParseVary("phases[1].load.rate=10/s,20/s")
	vs, err = Variants(nil, []Dimension{a, b})
	require.NoError(t, err)
	assert.Equal(t, "phases[0].load.rate=10/s phases[1].load.rate=20/s", vs[1].Name, "a shared last key names the whole path")

	named := []Variant{{Name: "close", Sets: []string{"phases[*].load.pool=none"}}, {Name: "h2c", Sets: []string{"phases[*].load.strategy=h2c"}}}
	vs, err = Variants(named, nil)
	require.NoError(t, err)
	assert.Equal(t, named, vs)

	_, err = Variants(nil, nil)
	assert.ErrorContains(t, err, "compare needs variants")
	one, _ := ParseVary("a.b=1")
	_, err = Variants(nil, []Dimension{one})
	assert.ErrorContains(t, err, "at least two variants")
	_, err = Variants([]Variant{named[0], named[0]}, nil)
	assert.ErrorContains(t, err, "given twice")
}

func TestSameSchedule(t *testing.T) {
	a, err := Parse("s.yaml", []byte(setBase), Options{})
	require.NoError(t, err)
	b, err := Parse("s.yaml", []byte(setBase), Options{Sets: []string{"phases[*].load.pool=keepalive"}})
	require.NoError(t, err)
	assert.NoError(t, SameSchedule(a, b), "a strategy change keeps the schedule")
	c, err := Parse("s.yaml", []byte(setBase), Options{Sets: []string{"phases[1].duration=9s"}})
	require.NoError(t, err)
	assert.ErrorContains(t, SameSchedule(a, c), "phase 1 is b for 9s instead of b for 5s")
}
