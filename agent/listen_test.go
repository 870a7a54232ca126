package agent

import (
	"context"
	"net"
	"os"
	"path/filepath"
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
	_, err := os.Stat(sock)
	assert.ErrorIs(t, err, os.ErrNotExist, "the socket is removed once the runner is connected")
	require.NoError(t, c.Close())
	require.NoError(t, <-served, "the agent ends cleanly when its runner goes")
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
