package reports

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
)

// htmlWriter writes report.html: one self-contained page (inline CSS and
// SVG, no scripts, no external resources) that works offline.
type htmlWriter struct{}

func (htmlWriter) name() string { return "html" }
func (htmlWriter) file() string { return "report.html" }

//go:embed report.html.tmpl
var htmlSource string

//go:embed style.html.tmpl
var styleSource string

var htmlTemplate = template.Must(template.Must(template.New("report.html").Parse(htmlSource)).Parse(styleSource))

// htmlPage is what the template shows; every string in it is escaped by
// html/template except the SVG, which vgsvg escaped.
type htmlPage struct {
	R          *Report
	Title      string
	Verdict    string
	VerdictCSS string
	Summary    string
	RunLine    string
	NATBoxes   []string
	// NATConfig names the candidate the run gated and what it changed.
	NATConfig  string
	Assertions []htmlAssertion
	LoadHead   []string
	Load       [][]string
	Outcomes   []outcomeRow
	NATHead    []string
	NAT        [][]string
	AWS        []string
	GCP        []gcpBox
	GCPVMHead  []string
	Faults     [][]string
	// PreChangeHead and PreChange are the pre-change check of NAT
	// config changes.
	PreChangeHead []string
	PreChange     [][]string
	Alarms        [][]string
	Charts        []htmlChart
	Schema        string
	// AppHead, Apps and Restarts are the app tiers' table and restarts.
	AppHead  []string
	Apps     [][]string
	Restarts []string
}

type htmlAssertion struct {
	Result, Name, Observed, Expected, Source string
	Passed                                   bool
}

type htmlChart struct {
	ID, Title string
	SVG       template.HTML
	Legend    []htmlLegend
}

type htmlLegend struct {
	Name, Kind string
	Style      template.CSS
}

func (htmlWriter) write(w io.Writer, r *Report) error {
	page, err := newHTMLPage(r)
	if err != nil {
		return fmt.Errorf("write html: %w", err)
	}
	if err := htmlTemplate.Execute(w, page); err != nil {
		return fmt.Errorf("write html: %w", err)
	}
	return nil
}

func newHTMLPage(r *Report) (*htmlPage, error) {
	same := func(s string) string { return s } // html/template escapes
	p := &htmlPage{R: r, Title: fmt.Sprintf("natlab %s: %s", r.Scenario.Name, verdictWord(r.Verdict)),
		Verdict: verdictWord(r.Verdict), VerdictCSS: string(r.Verdict), Summary: r.summaryLine(),
		RunLine: r.runLine(), LoadHead: loadHead, Load: r.loadRows(same), NATHead: natHead, NAT: r.natRows(same), AWS: r.awsLines(same),
		GCP: r.gcpBoxes(same), GCPVMHead: gcpVMHead, Schema: SchemaVersion}
	for _, n := range r.Testbed.NATs {
		p.NATBoxes = append(p.NATBoxes, natBoxLine(n))
	}
	if c := r.NATConfig; c != nil {
		p.NATConfig = fmt.Sprintf("NAT config candidate %s, read as %s: %s", c.source(), c.Form, c.changeLine())
		if len(c.Ignored) > 0 {
			p.NATConfig += fmt.Sprintf(" (ignored: %s)", strings.Join(c.Ignored, "; "))
		}
	}
	for _, a := range r.Assertions {
		p.Assertions = append(p.Assertions, htmlAssertion{Result: result(a.Passed), Name: a.Name,
			Observed: a.Observed, Expected: a.Expected, Source: a.Source, Passed: a.Passed})
	}
	p.Outcomes = r.outcomeRows()
	for _, f := range r.Faults {
		p.Faults = append(p.Faults, []string{f.Name, f.Kind, f.Host, f.Description, r.faultStart(f), r.windowEnd(f), faultNote(f)})
	}
	if rows := r.preChangeRows(same); len(rows) > 0 {
		p.PreChangeHead, p.PreChange = preChangeHead, rows
	}
	if len(r.Apps) > 0 {
		p.AppHead, p.Apps = appHead, r.appRows(same)
		for _, a := range r.Apps {
			if len(a.Restarted) > 0 {
				p.Restarts = append(p.Restarts, "Restarts of "+a.Name+": "+r.restartLine(a)+".")
			}
		}
	}
	for _, a := range r.Alarms {
		p.Alarms = append(p.Alarms, []string{a.Name, a.Metric, a.Threshold, r.alarmFired(a)})
	}
	if len(r.Samples) > 0 {
		charts, err := r.charts()
		if err != nil {
			return nil, err
		}
		for _, c := range charts {
			hc := htmlChart{ID: c.ID, Title: c.Title, SVG: template.HTML(c.SVG)} // #nosec: vgsvg escapes text
			for _, l := range c.Legend {
				// Colours are ours (#rrggbb), never input.
				hc.Legend = append(hc.Legend, htmlLegend{Name: l.Name, Kind: l.Kind, Style: template.CSS("--c:" + l.Color)})
			}
			p.Charts = append(p.Charts, hc)
		}
	}
	return p, nil
}
