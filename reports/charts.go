package reports

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"image/color"
	"io"
	"math"
	"strconv"
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
// utilization, allocation failures, conntrack entries, and latency (of ok
// and of failed attempts).
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
	fails := chartSpec{id: "nat-failures", title: "NAT allocation failures", yLabel: "failures/s"}
	ct := chartSpec{id: "nat-conntrack", title: "NAT conntrack entries", yLabel: "entries"}
	perSec := r.tickLengths()
	for i, n := range natNames(r) {
		clr := palette[i%len(palette)]
		util.series = append(util.series, series{name: n, color: clr, y: func(s *Sample) (float64, bool) {
			v, ok := s.NAT[n]
			return v.PortUtilization * 100, ok
		}})
		fails.series = append(fails.series, series{name: n, color: clr, y: func(s *Sample) (float64, bool) {
			v, ok := s.NAT[n]
			return float64(v.AllocationFailures) / perSec[s.T], ok
		}})
		ct.series = append(ct.series, series{name: n, color: clr, y: func(s *Sample) (float64, bool) {
			v, ok := s.NAT[n]
			return float64(v.Conntrack), ok
		}})
	}
	specs = append(specs, util, fails, ct, chartSpec{
		id: "latency", title: "Latency p99 per tick: ok attempts and failed ones", yLabel: "ms",
		series: []series{
			{name: "connect p99", color: palette[0], y: always(func(s *Sample) float64 { return s.ConnectP99.Float() * 1e3 })},
			{name: "request p99 (ok)", color: palette[1], dashed: true, y: always(func(s *Sample) float64 { return s.RequestP99.Float() * 1e3 })},
			{name: "failed attempts p99", color: errColor, y: always(func(s *Sample) float64 { return s.FailedP99.Float() * 1e3 })},
		},
	})
	return specs
}

// tickLengths maps the time of every sample to the length of its tick in
// seconds: the time since the sample before (the first: since the start),
// never 0, so that counts per tick become rates.
func (r *Report) tickLengths() map[float64]float64 {
	out := make(map[float64]float64, len(r.Samples))
	prev := 0.0
	for _, s := range r.Samples {
		d := s.T - prev
		if d <= 0 || math.IsNaN(d) || math.IsInf(d, 0) {
			d = 1
		}
		out[s.T] = d
		prev = s.T
	}
	return out
}

// charts renders every chart of the report.
func (r *Report) charts() ([]chart, error) {
	specs := r.chartSpecs()
	out := make([]chart, 0, len(specs))
	for _, spec := range specs {
		c, err := drawChart(r.plotData(spec))
		if err != nil {
			return nil, fmt.Errorf("chart %s: %w", spec.id, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// plotData is everything a chart draws: its lines with their points, and
// the timeline behind them (fault windows, phase starts, alarms).
type plotData struct {
	id, title, yLabel string
	// yMax is a floor for the top of the y axis (0: from the data).
	yMax float64
	// xMax is the end of the time axis in seconds.
	xMax    float64
	lines   []plotLine
	windows []window
	markers []Marker
}

// plotLine is one series with its points.
type plotLine struct {
	name   string
	color  color.NRGBA
	dashed bool
	xys    plotter.XYs
}

// plotData takes the points of spec's series from the report's samples.
func (r *Report) plotData(spec chartSpec) plotData {
	pd := plotData{id: spec.id, title: spec.title, yLabel: spec.yLabel, yMax: spec.yMax,
		xMax: math.Max(r.Duration.Float(), r.lastT()), windows: r.faultWindows(), markers: r.Markers()}
	for _, s := range spec.series {
		pd.lines = append(pd.lines, plotLine{name: s.name, color: s.color, dashed: s.dashed, xys: r.points(s)})
	}
	return pd
}

// drawChart draws one chart as inline SVG with the fault windows shaded
// behind the data and the phase starts and alarms as vertical lines.
func drawChart(pd plotData) (chart, error) {
	p := plot.New()
	p.X.Label.Text = "time since start (s)"
	p.Y.Label.Text = pd.yLabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sansFont, 10)
		a.Tick.Label.Font = font.From(sansFont, 9)
	}
	p.X.Tick.Marker = secondsTicks{}
	p.X.Min, p.X.Max = 0, pd.xMax
	if p.X.Max <= 0 {
		p.X.Max = 1
	}
	p.Add(plotter.NewGrid())
	windows := faultWindows(pd.windows)
	p.Add(windows)

	out := chart{ID: pd.id, Title: pd.title}
	ymax := 0.0
	for _, s := range pd.lines {
		for _, xy := range s.xys {
			ymax = math.Max(ymax, xy.Y)
		}
		kind := "line"
		if s.dashed {
			kind = "dashed"
		}
		out.Legend = append(out.Legend, legendItem{Name: s.name, Color: hexColor(s.color), Kind: kind})
		if len(s.xys) == 0 {
			continue
		}
		if len(s.xys) == 1 { // a line of one point draws nothing: a dot
			dot, err := plotter.NewScatter(s.xys)
			if err != nil {
				return chart{}, fmt.Errorf("dot %s: %w", s.name, err)
			}
			dot.GlyphStyle = draw.GlyphStyle{Color: s.color, Radius: dotRadius, Shape: draw.CircleGlyph{}}
			p.Add(dot)
			continue
		}
		l, err := plotter.NewLine(s.xys)
		if err != nil {
			return chart{}, fmt.Errorf("line %s: %w", s.name, err)
		}
		l.LineStyle = draw.LineStyle{Color: s.color, Width: dataLineWidth}
		if s.dashed {
			l.LineStyle.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		p.Add(l)
	}
	p.Add(phaseLines(pd.markers), alarmLines(pd.markers))
	p.Y.Min = 0
	p.Y.Max = math.Max(pd.yMax, ymax*1.15) // headroom for the labels at the top
	if p.Y.Max <= 0 {
		p.Y.Max = 1
	}
	if len(windows) > 0 {
		out.Legend = append(out.Legend, legendItem{Name: "fault window", Color: hexColor(faultShade), Kind: "shade"})
	}
	if len(phaseLines(pd.markers).at) > 0 {
		out.Legend = append(out.Legend, legendItem{Name: "phase start", Color: hexColor(phaseColor), Kind: "phase"})
	}
	if len(alarmLines(pd.markers).at) > 0 {
		out.Legend = append(out.Legend, legendItem{Name: "alarm fired", Color: hexColor(alarmColor), Kind: "alarm"})
	}

	cv := vgsvg.New(chartWidth, chartHeight)
	p.Draw(draw.New(cv))
	var buf bytes.Buffer
	if _, err := cv.WriteTo(&buf); err != nil {
		return chart{}, fmt.Errorf("write svg: %w", err)
	}
	svg, err := inlineSVG(buf.String(), pd.title)
	if err != nil {
		return chart{}, err
	}
	// Post-condition: the data is on the chart, not only its frame.
	if err := checkDataLines(svg, wantLines(pd.lines, p.X.Min, p.X.Max, p.Y.Min, p.Y.Max)); err != nil {
		return chart{}, err
	}
	out.SVG = svg
	return out, nil
}

// secondsTicks marks a time axis every few seconds (1, 2, 5, 10, 15, 30 s,
// 1, 2, 5, 10 min, ...: at most 12 labels), labelled in seconds, with
// unlabelled minor ticks between.
type secondsTicks struct{}

// tickSteps are the spacings secondsTicks chooses from, in seconds.
var tickSteps = []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600}

// Ticks implements plot.Ticker.
func (secondsTicks) Ticks(lo, hi float64) []plot.Tick {
	span := hi - lo
	if span <= 0 || math.IsNaN(span) || math.IsInf(span, 0) {
		return nil
	}
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if span/s <= 12 {
			step = s
			break
		}
	}
	for span/step > 12 { // longer than tickSteps foresee
		step *= 2
	}
	minor := step / 5
	switch step {
	case 1:
		minor = 0.5
	case 2:
		minor = 1
	case 15:
		minor = 5
	case 30, 60:
		minor = 10
	}
	var ticks []plot.Tick
	first := math.Ceil(lo/minor) * minor
	for i := 0; ; i++ {
		v := first + float64(i)*minor
		if v > hi+minor/1e6 {
			break
		}
		t := plot.Tick{Value: v}
		if k := v / step; math.Abs(k-math.Round(k)) < 1e-9 {
			t.Label = strconv.FormatFloat(v, 'f', -1, 64) + "s"
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// dataLineWidth is the width of the data lines, and what tells them apart
// from the frame, grid and decorations in the SVG (checkDataLines). A
// series of one point is a dot of dotRadius instead.
const (
	dataLineWidth vg.Length = 1.5 // points
	dotRadius     vg.Length = 2.5
)

// points are the samples a series has a value for, in order.
func (r *Report) points(s series) plotter.XYs {
	var xys plotter.XYs
	for i := range r.Samples {
		y, ok := s.y(&r.Samples[i])
		if !ok || math.IsNaN(y) || math.IsInf(y, 0) || math.IsNaN(r.Samples[i].T) || math.IsInf(r.Samples[i].T, 0) {
			continue
		}
		xys = append(xys, plotter.XY{X: r.Samples[i].T, Y: y})
	}
	return xys
}

// dataLine is what the SVG of a chart must show for one series with
// points: a path stroked in its colour with one vertex per point when they
// all lie inside the axes (else the plot clips the line: at least one
// vertex), or for a single point a dot filled in its colour.
type dataLine struct {
	name   string
	color  string // "#rrggbb"
	points int
	exact  bool // every point lies inside the axes
}

// wantLines are the data lines of the lines that have points inside axes
// spanning x0..x1 and y0..y1 (drawChart's axes hold every point of its
// lines; a line wholly outside them would have nothing to show).
func wantLines(lines []plotLine, x0, x1, y0, y1 float64) []dataLine {
	var want []dataLine
	for _, s := range lines {
		inside := 0
		for _, xy := range s.xys {
			if xy.X >= x0 && xy.X <= x1 && xy.Y >= y0 && xy.Y <= y1 {
				inside++
			}
		}
		if inside == 0 {
			continue
		}
		want = append(want, dataLine{name: s.name, color: hexColor(s.color), points: len(s.xys), exact: inside == len(s.xys)})
	}
	return want
}

// svgPath is a <path> of an SVG: its stroke (colour, width), its fill
// colour and its number of vertices.
type svgPath struct {
	stroke, fill string
	width        float64
	vertices     int
}

// matches reports whether p draws w.
func (p svgPath) matches(w dataLine) bool {
	if w.points == 1 { // a dot (the plot does not draw a line of one point)
		return strings.EqualFold(p.fill, w.color)
	}
	if !strings.EqualFold(p.stroke, w.color) || p.width != dataLineWidth.Points() {
		return false
	}
	return p.vertices == w.points || (!w.exact && p.vertices >= 1)
}

// checkDataLines verifies that svg draws every wanted data line, each by
// a path of its own. A chart whose data was dropped still has its axes,
// grid, shading and labels; this is what tells.
func checkDataLines(svg string, want []dataLine) error {
	paths, err := svgPaths(svg)
	if err != nil {
		return fmt.Errorf("check data lines: %w", err)
	}
	used := make([]bool, len(paths))
	var errs []error
next:
	for _, w := range want {
		for i, p := range paths {
			if !used[i] && p.matches(w) {
				used[i] = true
				continue next
			}
		}
		what := fmt.Sprintf("line of %d points", w.points)
		if w.points == 1 {
			what = "dot"
		}
		errs = append(errs, fmt.Errorf("series %s: no %s %s drawn", w.name, w.color, what))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("check data lines: %w", err)
	}
	return nil
}

// svgPaths lists the <path> elements of svg.
func svgPaths(svg string) ([]svgPath, error) {
	d := xml.NewDecoder(strings.NewReader(svg))
	var out []svgPath
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("parse svg: %w", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "path" {
			continue
		}
		var p svgPath
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "d":
				p.vertices = strings.Count(a.Value, "M") + strings.Count(a.Value, "L")
			case "style":
				for _, decl := range strings.Split(a.Value, ";") {
					k, v, _ := strings.Cut(decl, ":")
					v = strings.TrimSpace(v)
					switch strings.TrimSpace(k) {
					case "stroke":
						p.stroke = v
					case "fill":
						p.fill = v
					case "stroke-width":
						p.width, _ = strconv.ParseFloat(v, 64)
					}
				}
			}
		}
		out = append(out, p)
	}
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
