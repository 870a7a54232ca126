package docker

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// modulePath is natlab's module, whose cmd/natlab is built when the
// running binary is not static.
const modulePath = "github.com/natlab/natlab"

// IsStatic reports whether the ELF binary at path needs no dynamic loader
// (it has no PT_INTERP program header), so it runs in a FROM scratch image.
func IsStatic(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, fmt.Errorf("read %s as ELF: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
}

// StaticBinary returns a static natlab binary for the agent image: the
// running one when it is static, else one built with CGO_ENABLED=0 and the
// netgo tag from the natlab source tree around the working directory into
// a temporary directory (remove it with cleanup).
func StaticBinary(ctx context.Context) (path string, cleanup func(), err error) {
	exe, err := os.Executable()
	if err != nil {
		return "", nil, fmt.Errorf("find the running binary: %w", err)
	}
	if static, err := IsStatic(exe); err == nil && static {
		return exe, func() {}, nil
	}
	path, cleanup, err = BuildStatic(ctx, "./cmd/natlab")
	if err != nil {
		return "", nil, fmt.Errorf("the running binary is dynamically linked and cannot run in a FROM scratch image, and building a static one failed (build natlab with CGO_ENABLED=0): %w", err)
	}
	return path, cleanup, nil
}

// BuildStatic builds pkg (relative to the natlab source tree around the
// working directory) with CGO_ENABLED=0 and the netgo tag into a temporary
// directory; cleanup removes it.
func BuildStatic(ctx context.Context, pkg string) (path string, cleanup func(), err error) {
	root, err := moduleRoot()
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "natlab-agent-build-")
	if err != nil {
		return "", nil, fmt.Errorf("agent build dir: %w", err)
	}
	cleanup = func() { _ = os.RemoveAll(dir) }
	out := filepath.Join(dir, "natlab")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "netgo", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("build static %s in %s: %w: %s", pkg, root, err, bytes.TrimSpace(msg))
	}
	return out, cleanup, nil
}

// moduleRoot finds the natlab source tree holding the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		raw, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(raw), []byte("module "+modulePath+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no natlab source tree around the working directory")
		}
		dir = parent
	}
}
