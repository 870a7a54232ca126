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
