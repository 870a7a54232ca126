package natcfg

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// procSys is where the kernel exposes sysctls.
const procSys = "/proc/sys"

// SysctlPath maps "net.ipv4.ip_forward" (or "net/ipv4/ip_forward", the form
// for keys whose parts contain dots) to its /proc/sys file.
func SysctlPath(key string) string {
	if strings.Contains(key, "/") {
		return filepath.Join(procSys, key)
	}
	return filepath.Join(procSys, strings.ReplaceAll(key, ".", "/"))
}

// ValidateSysctlKey accepts only per-namespace keys (under net.) that exist
// on this kernel.
func ValidateSysctlKey(key string) error {
	k := strings.ReplaceAll(key, "/", ".")
	if !strings.HasPrefix(k, "net.") {
		return fmt.Errorf("sysctl %q: only net.* keys are per network namespace and can be set on the NAT box", key)
	}
	for _, part := range strings.Split(strings.ReplaceAll(key, ".", "/"), "/") {
		if part == "" || part == ".." {
			return fmt.Errorf("sysctl %q: malformed key, want dotted parts such as net.ipv4.ip_forward", key)
		}
	}
	st, err := os.Stat(SysctlPath(key))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("sysctl %q: no such key on this kernel (see /proc/sys/net for valid keys)", key)
		}
		return fmt.Errorf("sysctl %q: %w", key, err)
	}
	if st.IsDir() {
		return fmt.Errorf("sysctl %q: is a group of keys, not a key", key)
	}
	return nil
}
