package netns_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/natlab/natlab/internal/portrange"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/netns"
	"github.com/natlab/natlab/testbed/service"
)

func smallSpec() testbed.Spec {
	return testbed.Spec{
		NATs:    []testbed.NATSpec{{IPs: 1, Ports: portrange.Range{First: 1024, Last: 2047}, Mode: testbed.ModeManaged}},
		Clients: []testbed.ClientSpec{{Name: "client", Addresses: 100}},
		Backends: []testbed.BackendSpec{
			{Name: "api", Protocol: service.HTTP1, Port: 8080},
			{Name: "echo", Protocol: service.TCPEcho, Port: 9000},
		},
	}
}

func rootLinks(t *testing.T) []string {
	t.Helper()
	links, err := netlink.LinkList()
	require.NoError(t, err)
	var out []string
	for _, l := range links {
		out = append(out, l.Attrs().Name)
	}
	return out
}

// Teardown leaves no namespace, no agent process, and nothing in the
// initial namespace (every veth, bridge and rule lived in the run's own
// namespaces); two testbeds run side by side without clashing, whatever
// slots they got.
func TestTeardownAndConcurrentTestbeds(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	var beds [2]*testbed.Testbed
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range beds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			beds[i], errs[i] = testbed.Up(ctx, smallSpec(), netns.New(netns.Options{}), testbed.Options{})
		}()
	}
	wg.Wait()
	for i := range beds {
		require.NoError(t, errs[i])
	}
	a, b := beds[0], beds[1]
	assert.NotEqual(t, a.Run.ID, b.Run.ID)
	// Their slots differ unless every slot was held (other tests, other
	// users): netns runs may share one, each has a fabric of its own.
	t.Logf("slots %d and %d", a.Run.Slot, b.Run.Slot)
	for _, tb := range beds {
		names, err := netns.Namespaces(tb.Run.ID)
		require.NoError(t, err)
		// fabric + nat + client + 2 backends
		assert.Len(t, names, 5, names)
		res := load(t, tb, "client", holdPlan(target(t, tb, "echo", 9000), 50, time.Second))
		assert.Equal(t, uint64(50), res.Total.Counts.Of(0), pretty(res.Total.Counts))
	}
	var pids []int
	for _, tb := range beds {
		for _, h := range []string{"nat", "client", "api", "echo"} {
			var hello struct{ PID int }
			require.NoError(t, tb.Agent(h).Call(ctx, "ping", nil, &hello))
			pids = append(pids, hello.PID)
		}
		require.NoError(t, tb.Down(ctx))
		names, err := netns.Namespaces(tb.Run.ID)
		require.NoError(t, err)
		assert.Empty(t, names)
		_, err = os.Stat(filepath.Join(testbed.StateDir, tb.Run.ID+".json"))
		assert.True(t, errors.Is(err, os.ErrNotExist), "run state must be forgotten")
	}
	for _, pid := range pids {
		_, err := os.Stat(filepath.Join("/proc", itoa(pid)))
		assert.True(t, errors.Is(err, os.ErrNotExist), "agent %d must be gone", pid)
	}
	// Other tests (docker networks) may change the initial namespace at the
	// same time; what matters is that none of this backend's links is there.
	for _, name := range rootLinks(t) {
		assert.NotContains(t, []string{"br-wan", "br-lan0", "n0-wan", "n0-lan0", "c0", "b0", "b1", "wan0", "lan0"}, name,
			"the netns backend must never create links in the initial namespace")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// BenchmarkUpDown brings up and tears down 1 NAT + 2 backends + 1 client
// host with 100 addresses (target: under 1 s together).
func BenchmarkUpDown(b *testing.B) {
	requireRoot(b)
	ctx := context.Background()
	for b.Loop() {
		tb, err := testbed.Up(ctx, smallSpec(), netns.New(netns.Options{}), testbed.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := tb.Down(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
