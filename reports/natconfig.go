package reports

import (
	"fmt"
	"strings"
)

// natConfigSource names the candidate: its file and the resource read.
func (c *NATConfig) source() string {
	if c.Resource == "" {
		return c.File
	}
	return fmt.Sprintf("%s (%s)", c.File, c.Resource)
}

// changeLine is every change on one line, "nat min_ports_per_vm 128 ->
// 64; ...", or says that nothing differs.
func (c *NATConfig) changeLine() string {
	if len(c.Changes) == 0 {
		return "no setting differs from the scenario's"
	}
	parts := make([]string, len(c.Changes))
	for i, ch := range c.Changes {
		parts[i] = fmt.Sprintf("%s %s %s -> %s", ch.NAT, ch.Setting, ch.Before, ch.After)
	}
	return strings.Join(parts, "; ")
}
