package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed" // the Dockerfile
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/client"
)

//go:embed Dockerfile
var dockerfile []byte

// ImageRepo is the repository of the agent image; its tag is the first 12
// hex digits of the binary's sha256, so each binary is built once.
const ImageRepo = "natlab-agent"

// imageMu serializes image builds within this process.
var imageMu sync.Mutex

// ImageTag is the agent image reference for the binary at path.
func ImageTag(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("open agent binary: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash agent binary: %w", err)
	}
	return ImageRepo + ":" + hex.EncodeToString(h.Sum(nil))[:12], nil
}

// EnsureImage returns the tag of the agent image holding the static binary
// at path, building it (FROM scratch, nothing pulled) unless it exists.
func EnsureImage(ctx context.Context, cli client.APIClient, path, runID string) (string, error) {
	tag, err := ImageTag(path)
	if err != nil {
		return "", err
	}
	imageMu.Lock()
	defer imageMu.Unlock()
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		return tag, nil
	} else if !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("inspect image %s: %w", tag, err)
	}
	buildCtx, err := buildContext(path)
	if err != nil {
		return "", err
	}
	resp, err := cli.ImageBuild(ctx, buildCtx, build.ImageBuildOptions{
		Tags:        []string{tag},
		Labels:      map[string]string{LabelRun: runID, LabelImage: tag[len(ImageRepo)+1:]},
		Remove:      true,
		ForceRemove: true,
		PullParent:  false,
	})
	if err != nil {
		return "", fmt.Errorf("build image %s: %w", tag, err)
	}
	defer resp.Body.Close()
	if err := buildErrors(resp.Body); err != nil {
		return "", fmt.Errorf("build image %s: %w", tag, err)
	}
	return tag, nil
}

// buildContext is a tar of the Dockerfile and the binary as natlab.
func buildContext(path string) (io.Reader, error) {
	bin, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read agent binary: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, dockerfile}, {"natlab", 0o755, bin}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data))}); err != nil {
			return nil, fmt.Errorf("build context: %w", err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("build context: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	return &buf, nil
}

// buildErrors reads the build's JSON message stream to its end and returns
// the first error it reports.
func buildErrors(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("read build output: %w", err)
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
		if m.ErrorDetail.Message != "" {
			return errors.New(m.ErrorDetail.Message)
		}
	}
}
