package natbox

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

// sysctlPath maps "net.ipv4.ip_forward" (or "net/ipv4/ip_forward", the form
// for keys whose parts contain dots) to its /proc/sys file.
func sysctlPath(key string) string {
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
	st, err := os.Stat(sysctlPath(key))
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

// GetSysctl reads a net.* sysctl of the calling thread's namespace, with
// surrounding whitespace trimmed.
func GetSysctl(key string) (string, error) {
	if err := ValidateSysctlKey(key); err != nil {
		return "", fmt.Errorf("get %w", err)
	}
	b, err := os.ReadFile(sysctlPath(key))
	if err != nil {
		return "", fmt.Errorf("get sysctl %s: %w", key, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// SetSysctl writes a net.* sysctl of the calling thread's namespace and
// returns the previous value, for a revert.
func SetSysctl(key, value string) (old string, err error) {
	if err := ValidateSysctlKey(key); err != nil {
		return "", fmt.Errorf("set %w", err)
	}
	path := sysctlPath(key)
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("set sysctl %s: read: %w", key, err)
	}
	old = strings.TrimSpace(string(b))
	st, err := os.Stat(path)
	if err != nil {
		return old, fmt.Errorf("set sysctl %s: %w", key, err)
	}
	if st.Mode().Perm()&0o222 == 0 {
		return old, fmt.Errorf("set sysctl %s: read-only in this namespace (keys such as net.netfilter.nf_conntrack_max can only be set in the initial network namespace)", key)
	}
	if err := os.WriteFile(path, []byte(value), 0); err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return old, fmt.Errorf("set sysctl %s: read-only in this namespace (keys such as net.netfilter.nf_conntrack_max can only be set in the initial network namespace): %w", key, err)
		}
		return old, fmt.Errorf("set sysctl %s to %q: %w", key, value, err)
	}
	return old, nil
}
