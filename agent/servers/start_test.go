package servers

import (
	"errors"
	"strings"
	"testing"

	"github.com/natlab/natlab/testbed/service"
)

func TestStartRefusesInvalidSpec(t *testing.T) {
	_, err := Start(t.Context(), service.Spec{Name: "x", Protocol: "gopher", Addr: "127.0.0.1:0"})
	if !errors.Is(err, service.ErrInvalidSpec) {
		t.Fatalf("Start with bad protocol: err = %v, want ErrInvalidSpec", err)
	}
}

func TestStartReportsListenError(t *testing.T) {
	s := start(t, service.Spec{Protocol: service.TCPEcho})
	_, err := Start(t.Context(), service.Spec{Name: "dup", Protocol: service.TCPEcho, Addr: s.Addr().String()})
	if err == nil || !strings.Contains(err.Error(), "listen tcp") {
		t.Fatalf("Start on a taken port: err = %v, want a listen error", err)
	}
}

func TestReusePortTwoServersOneAddr(t *testing.T) {
	ctx := t.Context()
	a, err := Start(ctx, service.Spec{Name: "a", Protocol: service.TCPEcho, Addr: "127.0.0.1:0", ReusePort: true, Backlog: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Start(ctx, service.Spec{Name: "a", Protocol: service.TCPEcho, Addr: a.Addr().String(), ReusePort: true, Backlog: 16})
	if err != nil {
		t.Fatalf("second SO_REUSEPORT listener on %s: %v", a.Addr(), err)
	}
	defer b.Close()
	if _, err := Start(ctx, service.Spec{Name: "c", Protocol: service.TCPEcho, Addr: a.Addr().String()}); err == nil {
		t.Fatalf("a listener without SO_REUSEPORT bound %s too", a.Addr())
	}
}
