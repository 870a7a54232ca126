package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// jsonWriter writes report.json.
type jsonWriter struct{}

func (jsonWriter) name() string { return "json" }
func (jsonWriter) file() string { return "report.json" }

func (jsonWriter) write(w io.Writer, r *Report) error {
	c := *r
	c.Schema = SchemaVersion
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&c); err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	return nil
}

// Read loads a report.json and checks its schema version.
func Read(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	r, err := Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("read report %s: %w", path, err)
	}
	return r, nil
}

// Decode reads a report in JSON and checks its schema version.
func Decode(rd io.Reader) (*Report, error) {
	b, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("decode report: %w", err)
	}
	var head struct {
		Schema string `json:"schema"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("decode report: %w", err)
	}
	if err := CheckSchema(head.Schema); err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode report: %w", err)
	}
	return &r, nil
}

// CheckSchema reports whether a report with this schema can be read.
func CheckSchema(schema string) error {
	const prefix = "natlab.report/"
	switch {
	case schema == SchemaVersion:
		return nil
	case schema == "":
		return fmt.Errorf("check schema: no schema field: not a natlab report")
	case strings.HasPrefix(schema, prefix):
		return fmt.Errorf("check schema: report schema %q is not supported by this natlab (it reads %q)", schema, SchemaVersion)
	default:
		return fmt.Errorf("check schema: %q is not a natlab report schema (want %q)", schema, SchemaVersion)
	}
}
