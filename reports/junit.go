package reports

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// junitWriter writes junit.xml: one test case per assertion, and a failing
// "run completed" case when the run was interrupted.
type junitWriter struct{}

func (junitWriter) name() string { return "junit" }
func (junitWriter) file() string { return "junit.xml" }

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      string        `xml:"line,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func (junitWriter) write(w io.Writer, r *Report) error {
	class := "natlab." + r.Scenario.Name
	suite := junitSuite{Name: r.Scenario.Name, Time: num(r.Duration.Float(), 3)}
	if !r.Started.IsZero() {
		suite.Timestamp = r.Started.UTC().Format("2006-01-02T15:04:05Z")
	}
	for _, p := range []junitProperty{
		{"scenario_file", r.Scenario.File}, {"backend", r.Testbed.Backend},
		{"kernel", r.Testbed.Kernel}, {"run_id", r.Testbed.RunID}, {"verdict", string(r.Verdict)},
	} {
		if p.Value != "" {
			suite.Properties = append(suite.Properties, p)
		}
	}
	gated := ""
	if c := r.NATConfig; c != nil {
		suite.Properties = append(suite.Properties, junitProperty{"nat_config", c.source()},
			junitProperty{"nat_config_changes", c.changeLine()})
		gated = "\nwith NAT config " + c.source() + ": " + c.changeLine()
	}
	for _, a := range r.Assertions {
		c := junitCase{Name: a.Name, Classname: class, Time: "0"}
		c.File, c.Line = splitSource(a.Source)
		if !a.Passed {
			msg := fmt.Sprintf("observed %s, expected %s", a.Observed, a.Expected)
			text := msg
			if a.Source != "" {
				text += "\nassertion at " + a.Source
			}
			text += gated
			c.Failure = &junitFailure{Message: msg, Type: "assertion", Text: text}
		}
		suite.Cases = append(suite.Cases, c)
	}
	if r.Verdict == VerdictIncomplete {
		suite.Cases = append(suite.Cases, junitCase{Name: "run completed", Classname: class, Time: "0",
			Failure: &junitFailure{Message: "the run stopped early: " + r.Incomplete, Type: "incomplete",
				Text: "the run stopped early: " + r.Incomplete + "\nassertions after that point were not judged"}})
	}
	for _, c := range suite.Cases {
		suite.Tests++
		if c.Failure != nil {
			suite.Failures++
		}
	}
	doc := junitSuites{Name: "natlab", Tests: suite.Tests, Failures: suite.Failures, Time: suite.Time,
		Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
}

// splitSource splits "file.yaml:12" (or "file.yaml:12:5") into file and line.
func splitSource(src string) (file, line string) {
	parts := strings.Split(src, ":")
	for len(parts) > 1 {
		if _, err := strconv.Atoi(parts[len(parts)-1]); err != nil {
			break
		}
		line = parts[len(parts)-1]
		parts = parts[:len(parts)-1]
	}
	if line == "" {
		return src, ""
	}
	// "file:12:5": the loop kept the column; the line is the first number.
	rest := strings.TrimPrefix(src, strings.Join(parts, ":")+":")
	line, _, _ = strings.Cut(rest, ":")
	return strings.Join(parts, ":"), line
}
