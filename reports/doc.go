// Package reports writes every output format of a natlab run: report.json
// (schema natlab.report/v1), samples.csv (the time series), report.md (a CI
// step summary), report.html (one self-contained file with inline SVG charts)
// and junit.xml (one test case per assertion).
//
// The runner fills a Report and calls Write; Read loads a report.json back so
// that any format can be rendered again from a finished run.
package reports
