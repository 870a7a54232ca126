package reports

import (
	"bytes"
	"fmt"
	"html"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Chart size in the SVG (the page scales it to its width).
const (
	chartWidth  = 10 * vg.Inch
	chartHeight = 3.2 * vg.Inch
)

// series is one line of a chart; y reports false where the sample has no
// value (a NAT box not read in that tick).
type series struct {
	name   string
	color  color.NRGBA
	dashed bool
	y      func(s *Sample) (float64, bool)
}

// chartSpec describes one chart.
type chartSpec struct {
	id, title, yLabel string
	// yMax is a floor for the top of the y axis (0: from the data).
	yMax   float64
	series []series
}

// chart is a rendered chart: inline SVG and its legend.
type chart struct {
	ID, Title string
	SVG       string
	Legend    []legendItem
}

// legendItem is one entry of a chart's legend, drawn by the page.
type legendItem struct {
	Name  string
	Color string // "#rrggbb"
	// Kind is the swatch: "line", "dashed", "shade", "phase" or "alarm".
	Kind string
}

var (
	okColor  = color.NRGBA{R: 0x2e, G: 0x7d, B: 0x32, A: 0xff}
	errColor = color.NRGBA{R: 0xc6, G: 0x28, B: 0x28, A: 0xff}
	// palette colours the series of several NAT boxes.
	palette = []color.NRGBA{
		{R: 0x15, G: 0x65, B: 0xc0, A: 0xff}, {R: 0x00, G: 0x83, B: 0x8f, A: 0xff},
		{R: 0x6a, G: 0x1b, B: 0x9a, A: 0xff}, {R: 0xad, G: 0x14, B: 0x57, A: 0xff},
		{R: 0x45, G: 0x5a, B: 0x64, A: 0xff}, {R: 0x82, G: 0x77, B: 0x17, A: 0xff},
	}
)

// chartSpecs are the charts of the HTML report: client throughput, NAT port
// utilization, conntrack entries, and latency.
func (r *Report) chartSpecs() []chartSpec {
	always := func(f func(s *Sample) float64) func(s *Sample) (float64, bool) {
		return func(s *Sample) (float64, bool) { return f(s), true }
	}
	specs := []chartSpec{{
		id: "throughput", title: "Client throughput: ok/s and errors/s", yLabel: "attempts/s",
		series: []series{
			{name: "ok/s", color: okColor, y: always(func(s *Sample) float64 { return s.OKPerSec })},
			{name: "errors/s", color: errColor, y: always(func(s *Sample) float64 { return s.ErrorsPerSec })},
		},
	}}
	util := chartSpec{id: "nat-ports", title: "NAT port utilization (max over NAT IPs)", yLabel: "% of ports", yMax: 100}
	ct := chartSpec{id: "nat-conntrack", title: "NAT conntrack entries", yLabel: "entries"}
	for i, n := range natNames(r) {
		clr := palette[i%len(palette)]
		util.series = append(util.series, series{name: n, color: clr, y: func(s *Sample) (float64, bool) {
			v, ok := s.NAT[n]
			return v.PortUtilization * 100, ok
		}})
		ct.series = append(ct.series, series{name: n, color: clr, y: func(s *Sample) (float64, bool) {
			v, ok := s.NAT[n]
			return float64(v.Conntrack), ok
		}})
	}
	specs = append(specs, util, ct, chartSpec{
		id: "latency", title: "Latency p99 per tick", yLabel: "ms",
		series: []series{
			{name: "connect p99", color: palette[0], y: always(func(s *Sample) float64 { return s.ConnectP99.Float() * 1e3 })},
			{name: "request p99", color: palette[1], dashed: true, y: always(func(s *Sample) float64 { return s.RequestP99.Float() * 1e3 })},
		},
	})
	return specs
}

// charts renders every chart of the report.
func (r *Report) charts() ([]chart, error) {
	specs := r.chartSpecs()
	out := make([]chart, 0, len(specs))
	for _, spec := range specs {
		c, err := r.render(spec)
		if err != nil {
			return nil, fmt.Errorf("chart %s: %w", spec.id, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// render draws one chart as inline SVG with the fault windows shaded behind
// the data and the phase starts and alarms as vertical lines.
func (r *Report) render(spec chartSpec) (chart, error) {
	p := plot.New()
	p.X.Label.Text = "seconds since start"
	p.Y.Label.Text = spec.yLabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sansFont, 10)
		a.Tick.Label.Font = font.From(sansFont, 9)
	}
	p.X.Min, p.X.Max = 0, math.Max(r.Duration.Float(), r.lastT())
	if p.X.Max <= 0 {
		p.X.Max = 1
	}
	p.Add(plotter.NewGrid())
	markers := r.Markers()
	windows := faultWindows(r.faultWindows())
	p.Add(windows)

	out := chart{ID: spec.id, Title: spec.title}
	ymax := 0.0
	for _, s := range spec.series {
		var xys plotter.XYs
		for i := range r.Samples {
			y, ok := s.y(&r.Samples[i])
			if !ok || math.IsNaN(y) || math.IsInf(y, 0) || math.IsNaN(r.Samples[i].T) || math.IsInf(r.Samples[i].T, 0) {
				continue
			}
			xys = append(xys, plotter.XY{X: r.Samples[i].T, Y: y})
			ymax = math.Max(ymax, y)
		}
		kind := "line"
		if s.dashed {
			kind = "dashed"
		}
		out.Legend = append(out.Legend, legendItem{Name: s.name, Color: hexColor(s.color), Kind: kind})
		if len(xys) == 0 {
			continue
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return chart{}, fmt.Errorf("line %s: %w", s.name, err)
		}
		l.LineStyle = draw.LineStyle{Color: s.color, Width: vg.Points(1.5)}
		if s.dashed {
			l.LineStyle.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		p.Add(l)
	}
	p.Add(phaseLines(markers), alarmLines(markers))
	p.Y.Min = 0
	p.Y.Max = math.Max(spec.yMax, ymax*1.15) // headroom for the labels at the top
	if p.Y.Max <= 0 {
		p.Y.Max = 1
	}
	if len(windows) > 0 {
		out.Legend = append(out.Legend, legendItem{Name: "fault window", Color: hexColor(faultShade), Kind: "shade"})
	}
	if len(phaseLines(markers).at) > 0 {
		out.Legend = append(out.Legend, legendItem{Name: "phase start", Color: hexColor(phaseColor), Kind: "phase"})
	}
	if len(alarmLines(markers).at) > 0 {
		out.Legend = append(out.Legend, legendItem{Name: "alarm fired", Color: hexColor(alarmColor), Kind: "alarm"})
	}

	cv := vgsvg.New(chartWidth, chartHeight)
	p.Draw(draw.New(cv))
	var buf bytes.Buffer
	if _, err := cv.WriteTo(&buf); err != nil {
		return chart{}, fmt.Errorf("write svg: %w", err)
	}
	svg, err := inlineSVG(buf.String(), spec.title)
	if err != nil {
		return chart{}, err
	}
	out.SVG = svg
	return out, nil
}

// inlineSVG turns a standalone SVG document into an element for an HTML
// page: no XML prolog or comment, an accessible name, a class for styling.
func inlineSVG(doc, title string) (string, error) {
	i := strings.Index(doc, "<svg")
	if i < 0 {
		return "", fmt.Errorf("inline svg: no <svg> element")
	}
	return `<svg role="img" class="chart" aria-label="` + html.EscapeString(title) + `"` + doc[i+len("<svg"):], nil
}

// lastT is the time of the last sample (0 when none).
func (r *Report) lastT() float64 {
	if len(r.Samples) == 0 {
		return 0
	}
	return r.Samples[len(r.Samples)-1].T
}

// hexColor writes an opaque colour as #rrggbb.
func hexColor(c color.NRGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }
