package servers

import (
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/natlab/natlab/testbed/service"
)

// readErr reads from c until an error and returns it.
func readErr(t *testing.T, c interface {
	Read([]byte) (int, error)
	SetReadDeadline(time.Time) error
}) error {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.ReadAll(c)
	if err == nil {
		return io.EOF
	}
	return err
}

func TestSetResetNewConnections(t *testing.T) {
	s := start(t, service.Spec{Protocol: service.TCPEcho})
	s.SetReset(true)
	// On loopback the RST can beat connect()'s own completion check, so
	// the reset shows either at dial or at the first read.
	c, err := net.DialTimeout("tcp", s.Addr().String(), 5*time.Second)
	if err == nil {
		t.Cleanup(func() { _ = c.Close() })
		err = readErr(t, c)
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("connection accepted while reset is on: %v, want ECONNRESET", err)
	}
	st := s.Stats()
	if st.Accepted != 1 || st.Resets != 1 || st.Active != 0 {
		t.Fatalf("accepted %d resets %d active %d, want 1 1 0", st.Accepted, st.Resets, st.Active)
	}
	s.SetReset(false)
	if got := echoOnce(t, dial(t, s), "back"); got != "back" {
		t.Fatalf("echo after SetReset(false) = %q", got)
	}
}

func TestSetResetOpenConnection(t *testing.T) {
	s := start(t, service.Spec{Protocol: service.TCPEcho})
	c := dial(t, s)
	echoOnce(t, c, "before")
	s.SetReset(true)
	if _, err := c.Write([]byte("after")); err != nil {
		t.Fatalf("write: %v", err)
	}
	if err := readErr(t, c); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read after the server reset an open connection: %v, want ECONNRESET", err)
	}
	if st := s.Stats(); st.Resets != 1 || st.Active != 0 {
		t.Fatalf("resets %d active %d, want 1 0", st.Resets, st.Active)
	}
}

func TestSetResetHTTP(t *testing.T) {
	s := start(t, service.Spec{Protocol: service.HTTP1})
	s.SetReset(true)
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	_, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(baseURL(s) + "/")
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("GET while reset is on: %v, want ECONNRESET", err)
	}
	if st := s.Stats(); st.Requests != 0 || st.Resets < 1 {
		t.Fatalf("requests %d resets %d, want 0 and >= 1", st.Requests, st.Resets)
	}
}
