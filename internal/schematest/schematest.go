// Package schematest validates natlab's JSON outputs against the JSON
// Schemas published in docs/schema, in tests.
package schematest

import (
	"bytes"
	"fmt"
	"path/filepath"
	"runtime"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Dir is docs/schema of this checkout.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "docs", "schema")
}

// Validate checks doc against the schema file name of docs/schema
// ("report.schema.json", "compare.schema.json"), formats (date-time)
// included.
func Validate(name string, doc []byte) error {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	sch, err := c.Compile(filepath.Join(Dir(), name))
	if err != nil {
		return fmt.Errorf("compile %s: %w", name, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("parse document: %w", err)
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("against %s: %w", name, err)
	}
	return nil
}
