package docker_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/chaos"
	"github.com/natlab/natlab/docker"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
)

// While up, the run has one container per host and one network per link
// net, all labelled; docker's bridges hold no IPv4 address (nothing can be
// routed out of the testbed through the host). Destroy removes them all,
// and a second Destroy is harmless.
func TestDestroyLeavesNothing(t *testing.T) {
	requireDocker(t)
	ctx := context.Background()
	be := newBackend()
	tb, err := testbed.Up(ctx, exhaustSpec(), be, testbed.Options{Log: testLog(t)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tb.Down(ctx) })

	made := leftovers(t, tb.Run.ID)
	kinds := map[string]int{}
	for _, r := range made {
		kinds[r.Kind]++
		if r.Kind == "network" {
			br, err := netlink.LinkByName("br-" + r.ID[:12])
			require.NoError(t, err, "bridge of %s", r.Name)
			addrs, err := netlink.AddrList(br, netlink.FAMILY_V4)
			require.NoError(t, err)
			assert.Empty(t, addrs, "bridge of %s must hold no IPv4 address", r.Name)
		}
	}
	assert.Equal(t, map[string]int{"container": 3, "network": 2}, kinds, made)

	require.NoError(t, tb.Down(ctx))
	assert.Empty(t, leftovers(t, tb.Run.ID))
	require.NoError(t, be.Destroy(ctx), "a second Destroy is harmless")
	_, err = os.Stat(docker.DefaultRuntimeDir() + "/" + tb.Run.ID)
	assert.ErrorIs(t, err, os.ErrNotExist, "the run's socket directory is removed")
}

// A runner killed with SIGKILL leaves its containers and networks: the
// backend lists the run among its leftovers, with the runner (alive, then
// dead) and the address slot the networks hold, and Clean removes every
// one of them and the run's runtime directory.
func TestCleanAfterKilledRunner(t *testing.T) {
	requireDocker(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=up", binaryEnv+"="+agentBinary)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	runID := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "run "); ok {
				runID <- id
				return
			}
		}
		close(runID)
	}()
	var id string
	select {
	case id = <-runID:
	case <-time.After(3 * time.Minute):
		t.Fatal("the helper runner did not bring its testbed up")
	}
	require.NotEmpty(t, id, "the helper runner failed")
	be := newBackend()
	leftover := func() testbed.State {
		t.Helper()
		runs, err := be.Leftovers(context.Background())
		require.NoError(t, err)
		for _, s := range runs {
			if s.ID == id {
				return s
			}
		}
		return testbed.State{}
	}
	live := leftover()
	assert.Equal(t, cmd.Process.Pid, live.PID, "the labels name the runner")
	assert.True(t, live.Alive(), "so that clean can tell a live run of another user")
	assert.Equal(t, "docker", live.Backend)
	assert.GreaterOrEqual(t, live.Slot, 0, "the networks hold the run's slot")
	t.Cleanup(func() {
		_, _ = newBackend().Clean(context.Background(), id)
		_ = testbed.Forget(id)
	})
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()

	left := leftovers(t, id)
	require.Len(t, left, 5, "3 containers and 2 networks outlive a SIGKILLed runner")
	dead := leftover()
	assert.Equal(t, live, dead)
	assert.False(t, dead.Alive(), "the runner is gone")
	removed, err := be.Clean(context.Background(), id)
	require.NoError(t, err)
	var want []string
	for _, r := range left {
		want = append(want, r.String())
	}
	assert.ElementsMatch(t, want, removed)
	assert.Empty(t, leftovers(t, id))
	_, err = os.Stat(docker.DefaultRuntimeDir() + "/" + id)
	assert.ErrorIs(t, err, os.ErrNotExist, "the run's socket directory is removed")
	assert.Empty(t, leftover().ID, "the run is no longer a leftover")
}

// helperUp is the helper runner: it brings a testbed up, prints its run id
// and waits to be killed.
func helperUp() int {
	be := docker.New(docker.Options{Binary: os.Getenv(binaryEnv)})
	tb, err := testbed.Up(context.Background(), exhaustSpec(), be, testbed.Options{})
	if err != nil {
		os.Stderr.WriteString("helper up: " + err.Error() + "\n")
		return 1
	}
	os.Stdout.WriteString("run " + tb.Run.ID + "\n")
	select {}
}

// Kill stops the backend's agents, not its host: the container and its
// network namespace stay, so connects are refused (no listener) as on
// netns, and what was set in the namespace is still set after Restart,
// whose new agent serves. A second StartAgent in a running host is one
// more agent process, and Kill stops both.
func TestKillAndRestartBackend(t *testing.T) {
	tb := up(t, exhaustSpec())
	env := chaos.TestbedEnv(tb)
	ctx := context.Background()
	tgt := target(t, tb, "api", 8080)
	small := holdPlan(tgt, 20, time.Second)

	res := load(t, tb, "client", small)
	require.Equal(t, uint64(20), res.Total.Counts.Of(loadgen.OutcomeOK), pretty(res.Total.Counts))

	h := tb.Host("api")
	first := tb.Agent("api")
	extra, err := h.StartAgent(ctx, nil)
	require.NoError(t, err)
	var a, b wire.Hello
	require.NoError(t, first.Call(ctx, wire.OpPing, nil, &a))
	require.NoError(t, extra.Call(ctx, wire.OpPing, nil, &b))
	assert.NotEqual(t, a.PID, b.PID, "the second agent is another process")
	assert.NotEqual(t, a.Instance, b.Instance)
	const key = "net.ipv4.tcp_fin_timeout"
	was := sysctl(t, env, "api", key)
	setSysctl(t, env, "api", key, "17")

	require.NoError(t, h.Kill())
	for _, c := range []*wire.Conn{first, extra} {
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("an agent survived Kill")
		}
	}
	down := holdPlan(tgt, 5, time.Second)
	down.ConnectTimeout = time.Second
	res = load(t, tb, "client", down)
	assert.Equal(t, uint64(5), res.Total.Counts.Of(loadgen.OutcomeRefused), "the host is up, its listener gone: %s", pretty(res.Total.Counts))

	require.NoError(t, tb.Restart(ctx, "api"))
	var c wire.Hello
	require.NoError(t, tb.Agent("api").Call(ctx, wire.OpPing, nil, &c))
	assert.NotContains(t, []string{a.Instance, b.Instance}, c.Instance, "a new agent")
	assert.Equal(t, "17", sysctl(t, env, "api", key), "the namespace outlived the agents")
	setSysctl(t, env, "api", key, was)
	res = load(t, tb, "client", small)
	assert.Equal(t, uint64(20), res.Total.Counts.Of(loadgen.OutcomeOK), pretty(res.Total.Counts))
	st := backendStats(t, tb.Agent("api"))
	require.Len(t, st, 1)
	assert.Equal(t, uint64(20), st[0].Accepted, "the restarted backend counts from zero")
	assert.Equal(t, []string{tb.Run.Layout.NATs[0].IPs[0].String()}, st[0].Peers.IPs)
}
