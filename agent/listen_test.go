package agent

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/agent/wire"
)

// A listening agent serves exactly one runner: a stale socket is replaced,
// the socket file is gone once the runner is connected, and the protocol
// works over the connection.
func TestListenOnceServesOneRunner(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "agent.sock")
	require.NoError(t, os.WriteFile(sock, nil, 0o600), "a stale file where the socket goes")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	served := make(chan error, 1)
	go func() {
		conn, err := ListenOnce(ctx, "unix:"+sock, 5*time.Second)
		if err != nil {
			served <- err
			return
		}
		defer conn.Close()
		served <- Run(ctx, RoleClient, "c1", conn, conn)
	}()
	var c net.Conn
	require.Eventually(t, func() bool {
		var err error
		c, err = net.Dial("unix", sock)
		return err == nil
	}, 5*time.Second, 10*time.Millisecond)
	conn := wire.NewConn("c1", c, c, nil)
	var hello wire.Hello
	require.NoError(t, conn.Call(ctx, wire.OpPing, nil, &hello))
	assert.Equal(t, "c1", hello.Host)
	assert.Len(t, hello.Instance, 16, "a random id of its own")
	_, err := os.Stat(sock)
	assert.ErrorIs(t, err, os.ErrNotExist, "the socket is removed once the runner is connected")
	require.NoError(t, c.Close())
	require.NoError(t, <-served, "the agent ends cleanly when its runner goes")
}

// An agent (root in its container) hands its socket to the owner of the
// directory it listens in, so that a runner that is not root can connect.
func TestListenOnceHandsTheSocketToTheDirectoryOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test changes file owners and needs root; run it as root (CI does)")
	}
	dir := filepath.Join(t.TempDir(), "host")
	require.NoError(t, os.Mkdir(dir, 0o700))
	require.NoError(t, os.Chown(dir, 65534, 65534))
	sock := filepath.Join(dir, "agent.sock")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		conn, err := ListenOnce(ctx, "unix:"+sock, 5*time.Second)
		if err == nil {
			conn.Close()
		}
		done <- err
	}()
	var st syscall.Stat_t
	require.Eventually(t, func() bool {
		return syscall.Stat(sock, &st) == nil && st.Uid == 65534
	}, 5*time.Second, 10*time.Millisecond, "the socket belongs to the directory's owner")
	assert.Equal(t, uint32(65534), st.Gid)
	c, err := net.Dial("unix", sock)
	require.NoError(t, err)
	c.Close()
	require.NoError(t, <-done)
}

func TestListenOnceRefusesBadAddresses(t *testing.T) {
	for _, addr := range []string{"", "unix:", "tcp:127.0.0.1:1", "/run/x.sock"} {
		_, err := ListenOnce(context.Background(), addr, time.Second)
		assert.Error(t, err, addr)
	}
}

func TestListenOnceGivesUpWithoutRunner(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "agent.sock")
	start := time.Now()
	_, err := ListenOnce(context.Background(), "unix:"+sock, 200*time.Millisecond)
	assert.Error(t, err)
	assert.Less(t, time.Since(start), 3*time.Second)
}
