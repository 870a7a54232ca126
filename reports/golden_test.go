package reports

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGolden renders the fixture in every text format and compares it with
// testdata/<file>.golden (regenerate with go test ./reports -update).
func TestGolden(t *testing.T) {
	for _, format := range []string{"json", "csv", "md", "junit"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, fixture(), format); err != nil {
				t.Fatalf("render %s: %v", format, err)
			}
			file, err := FileName(format)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", file+".golden")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (run go test ./reports -update to create it): %v", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from %s (run with -update if the change is intended)\ngot:\n%s", format, golden, buf.String())
			}
		})
	}
}
