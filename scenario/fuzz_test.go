package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics and returns either a scenario
// or *Errors whose entries all carry a position.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, tc := range invalidCases {
		f.Add([]byte(tc.src))
	}
	fsys := os.DirFS("testdata")
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data, Options{Faults: testCatalog{}, FS: fsys})
		if err == nil {
			if s == nil {
				t.Fatal("no scenario and no error")
			}
			_ = Evaluate(s, &Observed{})
			return
		}
		if s != nil {
			t.Fatal("a scenario returned with an error")
		}
		var list *Errors
		if !errors.As(err, &list) || len(list.List) == 0 {
			t.Fatalf("want *Errors with at least one entry, got %T: %v", err, err)
		}
		for _, e := range list.List {
			if e.Line < 1 || e.Col < 1 || e.File != "fuzz.yaml" || e.Msg == "" {
				t.Fatalf("bad error entry %+v", e)
			}
		}
	})
}
