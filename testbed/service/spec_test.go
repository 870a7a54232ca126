package service

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSpecValidate(t *testing.T) {
	tests := []struct {
		name    string
		spec    Spec
		wantErr string // substring; empty = valid
	}{
		{"tcp echo", Spec{Name: "a", Protocol: TCPEcho, Addr: "0.0.0.0:7"}, ""},
		{"http1 any host", Spec{Name: "a", Protocol: HTTP1, Addr: ":8080"}, ""},
		{"h2c ipv6", Spec{Name: "a", Protocol: H2C, Addr: "[::1]:0"}, ""},
		{"udp", Spec{Name: "a", Protocol: UDPEcho, Addr: "198.18.0.1:53"}, ""},
		{"registrar timeout", Spec{Name: "a", Protocol: Registrar, Addr: ":1", VerifyTimeout: time.Second}, ""},
		{"no name", Spec{Protocol: HTTP1, Addr: ":1"}, "name is empty"},
		{"bad protocol", Spec{Name: "a", Protocol: "http3", Addr: ":1"}, `unknown protocol "http3"`},
		{"empty protocol", Spec{Name: "a", Addr: ":1"}, "unknown protocol"},
		{"no port", Spec{Name: "a", Protocol: HTTP1, Addr: "0.0.0.0"}, "not ip:port"},
		{"host name", Spec{Name: "a", Protocol: HTTP1, Addr: "localhost:80"}, "not a name"},
		{"port too big", Spec{Name: "a", Protocol: HTTP1, Addr: ":65536"}, "port must be"},
		{"port not number", Spec{Name: "a", Protocol: HTTP1, Addr: ":http"}, "port must be"},
		{"negative timeout", Spec{Name: "a", Protocol: Registrar, Addr: ":1", VerifyTimeout: -1}, "negative"},
		{"timeout on http1", Spec{Name: "a", Protocol: HTTP1, Addr: ":1", VerifyTimeout: time.Second}, "applies to protocol"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.spec.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want error containing %q", tt.wantErr)
			}
			if !errors.Is(err, ErrInvalidSpec) {
				t.Errorf("error %v does not wrap ErrInvalidSpec", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}
