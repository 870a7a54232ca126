// Package reports writes every output format of a natlab run: report.json
// (schema natlab.report/v1), samples.csv (the time series), report.md (a CI
// step summary), report.html (one self-contained file with inline SVG charts)
// and junit.xml (one test case per assertion).
//
// The runner fills a Report and calls Write; Read loads a report.json back so
// that any format can be rendered again from a finished run.
//
// Write and Render refuse a report that fails Validate, whose checks
// include the accounting: attempts == outcomes + in flight in the totals
// and every phase, and no attempt in flight unless the run is incomplete.
// The HTML writer also checks its own output: every chart must draw a line
// (a dot, for a single sample) for each series that has data.
package reports
