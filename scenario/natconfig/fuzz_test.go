package natconfig

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/natlab/natlab/scenario"
)

// Whatever a candidate file holds, Load returns a config or an error; it
// never panics, and an error in the file is a *scenario.Errors.
func FuzzLoad(f *testing.F) {
	for _, seed := range []string{gcpTF, awsTF, planJSON, "min_ports_per_vm: 64\n", `locals { a = local.a }`, `resource "google_compute_router_nat" "n" { nat_ips = [for x in var.y : x] }`} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, body string, tf bool) {
		name := "c.yaml"
		if tf {
			name = "c.tf"
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(p, "")
		if err == nil && cfg.Block == nil {
			t.Fatal("a config without a block")
		}
		if err != nil {
			if _, ok := err.(*scenario.Errors); !ok {
				t.Fatalf("not a located error: %v", err)
			}
		}
	})
}
