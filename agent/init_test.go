package agent

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeProc is a proc directory of processes by pid and state letter.
func fakeProc(t *testing.T, procs map[int]byte) string {
	t.Helper()
	dir := t.TempDir()
	for pid, st := range procs {
		setState(t, dir, pid, st)
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "self"), 0o755), "not a pid")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "uptime"), nil, 0o644))
	return dir
}

func setState(t *testing.T, dir string, pid int, st byte) {
	t.Helper()
	p := filepath.Join(dir, strconv.Itoa(pid))
	require.NoError(t, os.MkdirAll(p, 0o755))
	// A command name with spaces and parentheses, as the kernel allows.
	stat := strconv.Itoa(pid) + " (na) me (x)) " + string(st) + " 1 1 1 0 -1\n"
	require.NoError(t, os.WriteFile(filepath.Join(p, "stat"), []byte(stat), 0o644))
}

// Every live process but init is killed; zombies and dead ones are not,
// and count as gone. killOthers answers once no live process is left.
func TestKillOthersKillsEveryLiveProcessButSelf(t *testing.T) {
	dir := fakeProc(t, map[int]byte{1: 'S', 7: 'S', 8: 'R', 9: 'Z', 30: 'D'})
	live, err := liveProcesses(dir, 1)
	require.NoError(t, err)
	assert.Equal(t, []int{7, 8, 30}, live)

	var killed []int
	n, err := killOthers(context.Background(), dir, 1, time.Second, func(pid int) error {
		killed = append(killed, pid)
		switch pid {
		case 8:
			require.NoError(t, os.RemoveAll(filepath.Join(dir, "8"))) // reaped at once
		case 30:
			if len(killed) > 3 {
				setState(t, dir, 30, 'Z') // dies on the second round
			}
		default:
			setState(t, dir, pid, 'Z')
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Equal(t, []int{7, 8, 30, 30}, killed)
}

// A process that outlives its SIGKILL is an error that names it.
func TestKillOthersGivesUp(t *testing.T) {
	dir := fakeProc(t, map[int]byte{1: 'S', 5: 'D'})
	n, err := killOthers(context.Background(), dir, 1, 50*time.Millisecond, func(int) error { return nil })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "processes [5] still alive")
	assert.Equal(t, 1, n)
	n, err = killOthers(context.Background(), dir, 1, time.Second, func(int) error { return syscall.EPERM })
	require.ErrorIs(t, err, syscall.EPERM)
	assert.Equal(t, 0, n)
}

// The init kills every process it sees: outside a container's pid
// namespace (not pid 1, or a /proc not its own) it refuses to start.
func TestInitRefusesToRunOutsideAContainer(t *testing.T) {
	require.NotEqual(t, 1, os.Getpid())
	sock := filepath.Join(t.TempDir(), "init.sock")
	err := runInit(context.Background(), "api", "unix:"+sock)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "must be the first process of a container")
	_, err = os.Stat(sock)
	assert.ErrorIs(t, err, os.ErrNotExist, "it never listened")
}
