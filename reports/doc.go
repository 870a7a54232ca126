// Package reports writes every output format of a natlab run: report.json
// (schema natlab.report/v1), samples.csv (the time series), report.md (a CI
// step summary), report.html (one self-contained file with inline SVG charts)
// and junit.xml (one test case per assertion).
//
// The runner fills a Report and calls Write; Read loads a report.json back so
// that any format can be rendered again from a finished run (ReadSamples
// reads samples.csv back, for a report.json without its series).
//
// A Comparison is several variants of one scenario side by side (natlab
// compare): WriteComparison writes compare.json (schema natlab.compare/v1),
// compare.md and compare.html, with the variants' series overlaid;
// VariantOf summarises a variant's Report, and ReadComparison reads
// compare.json back. docs/schema holds the JSON Schemas of both documents.
//
// Write and Render refuse a report that fails Validate, whose checks
// include the accounting: attempts == outcomes + in flight in the totals
// and every phase, and no attempt in flight unless the run is incomplete.
// The HTML writer also checks its own output: every chart must draw a line
// (a dot, for a single sample) for each series that has data.
package reports
