package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// compareWriter renders a Comparison in one format.
type compareWriter interface {
	name() string
	file() string
	write(w io.Writer, c *Comparison) error
}

// compareWriters is every format of a comparison, in the order
// WriteComparison writes them.
var compareWriters = []compareWriter{
	compareJSONWriter{},
	compareMarkdownWriter{},
	compareHTMLWriter{},
}

// CompareFormats names every format of a comparison.
func CompareFormats() []string {
	out := make([]string, len(compareWriters))
	for i, w := range compareWriters {
		out[i] = w.name()
	}
	return out
}

// CompareFile is the file a comparison is read back from.
const CompareFile = "compare.json"

func lookupCompare(format string) (compareWriter, error) {
	for _, w := range compareWriters {
		if w.name() == format {
			return w, nil
		}
	}
	return nil, fmt.Errorf("unknown comparison format %q (known: %v)", format, CompareFormats())
}

// RenderComparison writes c in one format to w.
func RenderComparison(w io.Writer, c *Comparison, format string) error {
	f, err := lookupCompare(format)
	if err != nil {
		return fmt.Errorf("render comparison: %w", err)
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("render %s: %w", format, err)
	}
	if err := f.write(w, c); err != nil {
		return fmt.Errorf("render %s: %w", format, err)
	}
	return nil
}

// WriteComparison writes compare.json, compare.md and compare.html into
// dir, each atomically; formats that fail do not stop the others.
func WriteComparison(dir string, c *Comparison) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	// Every format from the comparison as compare.json holds it (see
	// asWritten).
	var js bytes.Buffer
	if err := (compareJSONWriter{}).write(&js, c); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	c, err := decodeComparison(js.Bytes())
	if err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	var errs []error
	for _, w := range compareWriters {
		if err := writeAtomic(filepath.Join(dir, w.file()), func(out io.Writer) error { return w.write(out, c) }); err != nil {
			errs = append(errs, fmt.Errorf("write %s: %w", w.file(), err))
		}
	}
	return errors.Join(errs...)
}

// compareJSONWriter writes compare.json.
type compareJSONWriter struct{}

func (compareJSONWriter) name() string { return "json" }
func (compareJSONWriter) file() string { return CompareFile }

func (compareJSONWriter) write(w io.Writer, c *Comparison) error {
	cc := *c
	cc.Schema = CompareSchemaVersion
	// Lists are lists in compare.json, empty ones too (never null).
	cc.Gate, cc.Varied = orEmpty(cc.Gate), orEmpty(cc.Varied)
	cc.Phases, cc.Faults = orEmpty(cc.Phases), orEmpty(cc.Faults)
	cc.Variants = append([]Variant(nil), cc.Variants...)
	for i := range cc.Variants {
		v := &cc.Variants[i]
		v.Sets, v.Assertions, v.Series = orEmpty(v.Sets), orEmpty(v.Assertions), orEmpty(v.Series)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&cc); err != nil {
		return fmt.Errorf("encode comparison: %w", err)
	}
	return nil
}

// ReadComparison loads a compare.json and checks its schema version.
func ReadComparison(path string) (*Comparison, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read comparison: %w", err)
	}
	c, err := decodeComparison(b)
	if err != nil {
		return nil, fmt.Errorf("read comparison %s: %w", path, err)
	}
	return c, nil
}

// decodeComparison reads a comparison in JSON and checks its schema.
func decodeComparison(b []byte) (*Comparison, error) {
	var head struct {
		Schema string `json:"schema"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, err
	}
	switch {
	case head.Schema == CompareSchemaVersion:
	case strings.HasPrefix(head.Schema, "natlab.compare/"):
		return nil, fmt.Errorf("schema %q is not supported by this natlab (it reads %q)", head.Schema, CompareSchemaVersion)
	default:
		return nil, fmt.Errorf("%q is not a natlab comparison schema (want %q)", head.Schema, CompareSchemaVersion)
	}
	var c Comparison
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// orEmpty is s, or an empty slice for nil.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
