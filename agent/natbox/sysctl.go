package natbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/natlab/natlab/testbed/natcfg"
)

// GetSysctl reads a net.* sysctl of the calling thread's namespace, with
// surrounding whitespace trimmed.
func GetSysctl(key string) (string, error) {
	if err := natcfg.ValidateSysctlKey(key); err != nil {
		return "", fmt.Errorf("get %w", err)
	}
	b, err := os.ReadFile(natcfg.SysctlPath(key))
	if err != nil {
		return "", fmt.Errorf("get sysctl %s: %w", key, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// SetSysctl writes a net.* sysctl of the calling thread's namespace and
// returns the previous value, for a revert.
func SetSysctl(key, value string) (old string, err error) {
	if err := natcfg.ValidateSysctlKey(key); err != nil {
		return "", fmt.Errorf("set %w", err)
	}
	path := natcfg.SysctlPath(key)
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
