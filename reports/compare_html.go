package reports

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"

	"gonum.org/v1/plot/plotter"
)

// compareHTMLWriter writes compare.html: one self-contained page (inline
// CSS and SVG, no scripts, no external resources) with the variants'
// table and their series overlaid.
type compareHTMLWriter struct{}

func (compareHTMLWriter) name() string { return "html" }
func (compareHTMLWriter) file() string { return "compare.html" }

//go:embed compare.html.tmpl
var compareHTMLSource string

var compareHTMLTemplate = template.Must(template.Must(template.New("compare.html").Parse(compareHTMLSource)).Parse(styleSource))

type comparePage struct {
	C                    *Comparison
	Title, Verdict       string
	VerdictCSS           string
	Summary, About       string
	VariantHead, RunHead []string
	Variants             []compareRow
	Assertions           []compareAssertion
	Runs                 [][]string
	Charts               []htmlChart
	Schema               string
}

type compareRow struct {
	CSS   string
	Cells []string
}

type compareAssertion struct {
	Name  string
	Cells []compareCell
}

type compareCell struct{ Text, CSS string }

func (compareHTMLWriter) write(w io.Writer, c *Comparison) error {
	same := func(s string) string { return s } // html/template escapes
	p := &comparePage{C: c, Title: fmt.Sprintf("natlab compare %s: %s", c.Scenario.Name, verdictWord(c.Verdict)),
		Verdict: verdictWord(c.Verdict), VerdictCSS: string(c.Verdict), Summary: c.summaryLine(), About: c.aboutLine(),
		VariantHead: variantHead, RunHead: runHead, Runs: c.runRows(same, same), Schema: CompareSchemaVersion}
	for i, row := range c.variantRows(same) {
		css := "passed"
		if c.Variants[i].Verdict != VerdictPass {
			css = "failed"
		}
		p.Variants = append(p.Variants, compareRow{CSS: css, Cells: row})
	}
	for _, n := range c.assertionNames() {
		a := compareAssertion{Name: n}
		for _, v := range c.Variants {
			text, passed, judged := assertionCell(v, n)
			css := ""
			if judged {
				css = "fail"
				if passed {
					css = "pass"
				}
			}
			a.Cells = append(a.Cells, compareCell{Text: text, CSS: css})
		}
		p.Assertions = append(p.Assertions, a)
	}
	charts, err := c.charts()
	if err != nil {
		return fmt.Errorf("write comparison html: %w", err)
	}
	for _, ch := range charts {
		hc := htmlChart{ID: ch.ID, Title: ch.Title, SVG: template.HTML(ch.SVG)} // #nosec: vgsvg escapes text
		for _, l := range ch.Legend {
			hc.Legend = append(hc.Legend, htmlLegend{Name: l.Name, Kind: l.Kind, Style: template.CSS("--c:" + l.Color)})
		}
		p.Charts = append(p.Charts, hc)
	}
	if err := compareHTMLTemplate.Execute(w, p); err != nil {
		return fmt.Errorf("write comparison html: %w", err)
	}
	return nil
}

// compareChart is one overlaid chart: a line per variant of one figure.
type compareChart struct {
	id, title, yLabel string
	yMax              float64
	y                 func(s VariantSample) (float64, bool)
}

var compareCharts = []compareChart{
	{id: "ok", title: "ok/s by variant", yLabel: "ok attempts/s",
		y: func(s VariantSample) (float64, bool) { return s.OKPerSec, true }},
	{id: "errors", title: "errors/s by variant", yLabel: "failed attempts/s",
		y: func(s VariantSample) (float64, bool) { return s.ErrorsPerSec, true }},
	{id: "nat-ports", title: "NAT port utilization by variant (max over NAT IPs)", yLabel: "% of ports", yMax: 100,
		y: func(s VariantSample) (float64, bool) {
			if s.PortUtilization == nil {
				return 0, false
			}
			return *s.PortUtilization * 100, true
		}},
}

// charts draws the overlaid charts of c (none when no variant has samples).
func (c *Comparison) charts() ([]chart, error) {
	any := false
	xMax := 0.0
	for _, v := range c.Variants {
		xMax = math.Max(xMax, v.Duration.Float())
		if n := len(v.Series); n > 0 {
			any = true
			xMax = math.Max(xMax, v.Series[n-1].T)
		}
	}
	if !any {
		return nil, nil
	}
	var windows []window
	for _, f := range c.Faults {
		windows = append(windows, window{name: f.Name, from: f.From, to: f.To})
	}
	var markers []Marker
	for _, p := range c.Phases {
		markers = append(markers, Marker{T: p.Start, Kind: MarkerPhase, Name: p.Name})
	}
	var out []chart
	for _, cc := range compareCharts {
		pd := plotData{id: cc.id, title: cc.title, yLabel: cc.yLabel, yMax: cc.yMax, xMax: xMax, windows: windows, markers: markers}
		for i, v := range c.Variants {
			var xys plotter.XYs
			for _, s := range v.Series {
				if y, ok := cc.y(s); ok && !math.IsNaN(y) && !math.IsInf(y, 0) && !math.IsNaN(s.T) && !math.IsInf(s.T, 0) {
					xys = append(xys, plotter.XY{X: s.T, Y: y})
				}
			}
			pd.lines = append(pd.lines, plotLine{name: v.Name, color: palette[i%len(palette)], xys: xys})
		}
		ch, err := drawChart(pd)
		if err != nil {
			return nil, fmt.Errorf("chart %s: %w", cc.id, err)
		}
		out = append(out, ch)
	}
	return out, nil
}
