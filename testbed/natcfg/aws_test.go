package natcfg

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/natlab/natlab/internal/portrange"
)

func awsCfg(ips int) Config {
	c := onePool(portrange.Range{First: 1024, Last: 65535})
	for i := range ips {
		c.Pools[0].IPs = append(c.Pools[0].IPs, netip.AddrFrom4([4]byte{198, 19, 200, byte(1 + i)}))
	}
	c.Profile = ProfileAWSNATGateway
	c.AWS = &AWSConfig{MaxConnectionsPerDestination: AWSDefaultMaxConnectionsPerDestination, IdleTimeout: AWSDefaultIdleTimeout}
	return c
}

func TestAWSValidate(t *testing.T) {
	if err := awsCfg(8).Validate(); err != nil {
		t.Errorf("8 NAT IPs: %v, want valid", err)
	}
	for _, tc := range []struct {
		name string
		cfg  func() Config
		want string
	}{
		{"nine IPs", func() Config { return awsCfg(9) }, "9 NAT IPs: a NAT gateway has at most 8"},
		{"no settings", func() Config { c := awsCfg(1); c.AWS = nil; return c }, "needs its settings"},
		{"cap zero", func() Config { c := awsCfg(1); c.AWS.MaxConnectionsPerDestination = 0; return c }, "want 1 to 55000"},
		{"cap over", func() Config { c := awsCfg(1); c.AWS.MaxConnectionsPerDestination = 55001; return c }, "want 1 to 55000"},
		{"idle", func() Config { c := awsCfg(1); c.AWS.IdleTimeout = time.Millisecond; return c }, "idle timeout 1ms: want at least 1s"},
		{"hold", func() Config { c := awsCfg(1); c.Hold = time.Second; return c }, "holds no closed ports"},
		{"on linux", func() Config { c := awsCfg(1); c.Profile = ""; return c }, "aws-nat-gateway settings need profile"},
	} {
		err := tc.cfg().Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}

// The ct count ceiling is the cap, or the ports when fewer.
func TestAWSLimit(t *testing.T) {
	c := awsCfg(1)
	if n := c.AWSLimit(); n != 55000 {
		t.Errorf("limit %d, want 55000 (64,512 ports)", n)
	}
	c.Pools[0].Ports = portrange.Range{First: 1024, Last: 1087}
	if n := c.AWSLimit(); n != 64 {
		t.Errorf("limit %d, want the 64 ports", n)
	}
}
