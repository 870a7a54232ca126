package agent

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCheckTargetRefusesAddressesOutsideTheTestbed(t *testing.T) {
	for _, ok := range []string{"198.18.0.1:80", "198.19.255.254:8080", "127.0.0.1:9", "[::1]:80"} {
		assert.NoError(t, CheckTarget(ok), ok)
	}
	for _, bad := range []string{"10.0.0.1:80", "8.8.8.8:53", "198.20.0.1:80", "192.168.1.1:443", "example.com:80", "198.18.0.1"} {
		assert.Error(t, CheckTarget(bad), bad)
	}
}
