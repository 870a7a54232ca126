package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/docker"
	"github.com/natlab/natlab/reports"
	"github.com/natlab/natlab/testbed"
)

// nobody is the unprivileged user the tests run natlab as.
const nobody = 65534

// user is natlab, a static binary as users run it, run as nobody with a
// home of its own that is also its XDG_RUNTIME_DIR.
type user struct {
	t      *testing.T
	bin    string
	home   string
	groups []uint32
	env    []string
}

// newUser builds natlab with CGO_ENABLED=0 into a directory nobody can
// read, and makes nobody a home.
func newUser(t *testing.T) *user {
	t.Helper()
	requireRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin, cleanup, err := docker.BuildStatic(ctx, "./cmd/natlab")
	require.NoError(t, err)
	t.Cleanup(cleanup)
	require.NoError(t, os.Chmod(filepath.Dir(bin), 0o755))
	home, err := os.MkdirTemp("", "natlab-nobody-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(home) })
	require.NoError(t, os.Chown(home, nobody, nobody))
	return &user{t: t, bin: bin, home: home}
}

// command is natlab args as the user.
func (u *user) command(args ...string) *exec.Cmd {
	cmd := exec.Command(u.bin, args...)
	cmd.Dir = u.home
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=" + u.home, "XDG_RUNTIME_DIR=" + u.home}, u.env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: u.groups}}
	return cmd
}

// run runs natlab args as the user and returns its exit code and output.
func (u *user) run(args ...string) (int, string, string) {
	u.t.Helper()
	var out, errOut bytes.Buffer
	cmd := u.command(args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), out.String(), errOut.String()
	}
	require.NoError(u.t, err)
	return 0, out.String(), errOut.String()
}

// writeFile writes a file the user owns in its home.
func (u *user) writeFile(name, body string) string {
	u.t.Helper()
	p := filepath.Join(u.home, name)
	require.NoError(u.t, os.WriteFile(p, []byte(body), 0o644))
	require.NoError(u.t, os.Chown(p, nobody, nobody))
	return p
}

// joinDocker makes the user a member of the group that may open the
// docker socket, as an administrator adds users to the docker group.
func (u *user) joinDocker() {
	u.t.Helper()
	requireDocker(u.t)
	sock := "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		var ok bool
		sock, ok = strings.CutPrefix(h, "unix://")
		require.True(u.t, ok, "DOCKER_HOST=%s: these tests need the engine's unix socket", h)
	}
	var st syscall.Stat_t
	require.NoError(u.t, syscall.Stat(sock, &st))
	if st.Mode&0o060 != 0o060 || st.Gid == 0 {
		u.t.Fatalf("%s (mode %o, group %d) does not let a group open it: these tests need the docker group set up as the docker package does", sock, st.Mode&0o777, st.Gid)
	}
	u.groups = []uint32{st.Gid}
}

// stateLeft lists what is in the user's state directory beyond its lock
// and the (empty) directory of the docker agents' sockets.
func (u *user) stateLeft() []string {
	u.t.Helper()
	dir := filepath.Join(u.home, "natlab")
	var left []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if rel != "." && rel != ".lock" && rel != "docker" {
			left = append(left, rel)
		}
		return nil
	})
	require.NoError(u.t, err)
	return left
}

// As a user without root, natlab says what each backend needs instead of
// failing on a file in /run; with docker it works, and leaves nothing.
func TestNonRoot(t *testing.T) {
	u := newUser(t)
	scenario := u.writeFile("tiny.yaml", `name: tiny
testbed:
  nat: {ips: 1, ports: 1024-2047}
  clients: {hosts: 1, addresses: 2}
  backends: [{name: api, protocol: http1, port: 8080}]
phases:
  - {name: steady, duration: 1s, load: {strategy: http1, pool: keepalive, pool_size: 2, rate: 20/s}}
assert:
  - expect: error_rate < 1%
`)

	t.Run("auto without docker", func(t *testing.T) {
		u.env = []string{"DOCKER_HOST=unix:///nonexistent/docker.sock"}
		defer func() { u.env = nil }()
		code, stdout, stderr := u.run("run", "nat-port-exhaustion")
		require.Equal(t, ExitEnviron, code, stdout+stderr)
		assert.Contains(t, stderr, "netns needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)")
		assert.Contains(t, stderr, "docker needs a reachable Docker engine")
		assert.Contains(t, stderr, "docker group")
		assert.NotContains(t, stderr, "/run/natlab", "nothing of root's is needed")
		assert.NotContains(t, stderr, "panic")

		// With a run id no run has (Claim makes 6 hex digits): should a
		// regression let this clean work, it still sweeps no one's runs.
		code, _, stderr = u.run("clean", "notarun0")
		assert.Equal(t, ExitEnviron, code, stderr)
		assert.Contains(t, stderr, "docker needs a reachable Docker engine")
	})
	t.Run("netns", func(t *testing.T) {
		code, stdout, stderr := u.run("run", "--testbed", "netns", scenario)
		require.Equal(t, ExitEnviron, code, stdout+stderr)
		assert.Contains(t, stderr, "natlab needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)")
	})
	t.Run("docker without a state directory", func(t *testing.T) {
		u.joinDocker()
		defer func() { u.groups = nil }()
		cmd := u.command("run", "--testbed", "docker", scenario)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent"}
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		err := cmd.Run()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, errOut.String())
		assert.Equal(t, ExitEnviron, ee.ExitCode(), errOut.String())
		assert.Contains(t, errOut.String(), "a state directory natlab can write")
		assert.Contains(t, errOut.String(), "/nonexistent/.local/state/natlab")
	})
	t.Run("docker", func(t *testing.T) {
		u.joinDocker()
		defer func() { u.groups = nil }()
		out := filepath.Join(u.home, "out")
		code, stdout, stderr := u.run("run", scenario, "--out", out)
		require.Equal(t, ExitPass, code, stdout+stderr)
		rep, err := reports.Read(filepath.Join(out, "report.json"))
		require.NoError(t, err)
		assert.Equal(t, "docker", rep.Testbed.Backend, "auto picks docker for a member of the docker group")
		assert.Positive(t, rep.Totals.OK)
		left, err := docker.Resources(context.Background(), rep.Testbed.RunID)
		require.NoError(t, err)
		assert.Empty(t, left, "no container or network of the run may remain")
		assert.Empty(t, u.stateLeft(), "no state of the run may remain")
	})
	t.Run("docker kill", func(t *testing.T) {
		// The kill fault goes through each container's init, over a
		// socket in the user's runtime directory: no host pid, no root.
		u.joinDocker()
		defer func() { u.groups = nil }()
		killScenario := u.writeFile("kill.yaml", `name: tiny-kill
testbed:
  nat: {ips: 1, ports: 1024-2047}
  clients: {hosts: 1, addresses: 2}
  backends: [{name: api, protocol: http1, port: 8080}]
phases:
  - {name: before, duration: 1s, load: {strategy: http1, pool: none, rate: 20/s, connect_timeout: 1s}}
  - {name: down, duration: 2s, load: {strategy: http1, pool: none, rate: 20/s, connect_timeout: 1s}}
faults:
  - {name: kill-api, at: 1200ms, for: 1500ms, kind: kill, host: api}
assert:
  - phase: before
    expect: error_rate < 1%
  - phase: down
    expect: outcomes.refused > 0
`)
		out := filepath.Join(u.home, "out-kill")
		code, stdout, stderr := u.run("run", "--testbed", "docker", killScenario, "--out", out)
		require.Equal(t, ExitPass, code, stdout+stderr)
		rep, err := reports.Read(filepath.Join(out, "report.json"))
		require.NoError(t, err)
		require.Len(t, rep.Faults, 1)
		f := rep.Faults[0]
		assert.Empty(t, f.Error)
		assert.NotNil(t, f.RevertedAt, "the killed backend was restarted")
		assert.Empty(t, f.VerifyError, "a new agent serves the same servers")
		assert.Empty(t, u.stateLeft(), "no state of the run may remain")
	})
	t.Run("root's clean", func(t *testing.T) {
		// The user's run is recorded in the user's state directory, out of
		// root's sight: the labels of its containers and networks tell
		// root's clean that it is alive, then dead.
		u.joinDocker()
		defer func() { u.groups = nil }()
		cmd := u.command("up", "--testbed", "docker", scenario)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		var id string
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := regexp.MustCompile(`^testbed ([0-9a-f]+) is up`).FindStringSubmatch(sc.Text()); m != nil {
				id = m[1]
			}
			if strings.Contains(sc.Text(), "keeps it up") {
				break
			}
		}
		require.NotEmpty(t, id, "up did not bring the testbed up")
		go func() {
			for sc.Scan() {
			}
		}()
		state := filepath.Join(u.home, "natlab", id+".json")
		require.FileExists(t, state)
		_, err = os.Stat(filepath.Join(testbed.StateDir, id+".json"))
		require.ErrorIs(t, err, os.ErrNotExist, "root's state directory knows nothing of the run")

		code, out, errOut := run(t, "clean", id)
		require.Equal(t, ExitPass, code, errOut)
		assert.Contains(t, out, "run "+id+" is still running")
		made, err := docker.Resources(context.Background(), id)
		require.NoError(t, err)
		assert.Len(t, made, 5, "a live run of another user is left alone")

		require.NoError(t, cmd.Process.Kill())
		_ = cmd.Wait()
		code, out, errOut = run(t, "clean", id)
		require.Equal(t, ExitPass, code, errOut)
		assert.Contains(t, out, "removed container natlab-"+id+"-nat")
		assert.Contains(t, out, "removed network natlab-"+id+"-wan")
		assert.Contains(t, out, "cleaned run "+id)
		left, err := docker.Resources(context.Background(), id)
		require.NoError(t, err)
		assert.Empty(t, left)

		// The state and socket directory stay the user's: its own clean
		// forgets them.
		assert.FileExists(t, state)
		code, out, errOut = u.run("clean", id)
		require.Equal(t, ExitPass, code, errOut)
		assert.Contains(t, out, "cleaned run "+id)
		assert.Empty(t, u.stateLeft())
	})
}
