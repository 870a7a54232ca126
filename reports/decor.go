package reports

import (
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Colours of the chart decorations. The fault shading is a semi-transparent
// fill; the HTML test looks for it.
var (
	faultShade = color.NRGBA{R: 0xff, G: 0x98, B: 0x00, A: 0x40}
	phaseColor = color.NRGBA{R: 0x60, G: 0x60, B: 0x60, A: 0xff}
	alarmColor = color.NRGBA{R: 0x8e, G: 0x24, B: 0xaa, A: 0xff}
)

// sansFont is the face of all chart text: Liberation Sans, which matches
// the page's sans-serif text (plot.DefaultFont is a serif).
var sansFont = font.Font{Typeface: "Liberation", Variant: "Sans"}

// labelStyle is the small text of the decorations.
func labelStyle(clr color.Color) draw.TextStyle {
	return draw.TextStyle{Color: clr, Font: font.From(sansFont, 8), Handler: plot.DefaultTextHandler,
		XAlign: text.XLeft, YAlign: text.YTop}
}

// faultWindows shades the span of every fault across the whole plot and
// names it at the top. It is a plot.Plotter and a legend thumbnail.
type faultWindows []window

// Plot implements plot.Plotter.
func (ws faultWindows) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	sty := labelStyle(color.Black)
	for i, w := range ws {
		x0, x1 := trX(w.from), trX(w.to)
		if x1 <= x0 {
			x1 = x0 + 1 // an instant fault still shows
		}
		c.FillPolygon(faultShade, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
		// Stagger the names of overlapping windows.
		y := c.Max.Y - 2 - vg.Length(i%3)*10
		if c.ContainsX(x0 + 2) {
			c.FillText(sty, vg.Point{X: x0 + 2, Y: y}, w.name)
		}
	}
}

// Thumbnail implements plot.Thumbnailer.
func (faultWindows) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(faultShade, []vg.Point{c.Min, {X: c.Max.X, Y: c.Min.Y}, c.Max, {X: c.Min.X, Y: c.Max.Y}})
}

// vlines are labelled vertical lines: phase starts or alarm firings.
type vlines struct {
	at     []float64
	labels []string
	line   draw.LineStyle
	// bottom puts the labels at the bottom of the plot instead of the top.
	bottom bool
}

func phaseLines(ms []Marker) vlines {
	v := vlines{line: draw.LineStyle{Color: phaseColor, Width: vg.Points(0.75), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}}
	for _, m := range ms {
		if m.Kind == MarkerPhase {
			v.at, v.labels = append(v.at, m.T), append(v.labels, m.Name)
		}
	}
	return v
}

func alarmLines(ms []Marker) vlines {
	v := vlines{line: draw.LineStyle{Color: alarmColor, Width: vg.Points(1.25), Dashes: []vg.Length{vg.Points(1), vg.Points(2)}}, bottom: true}
	for _, m := range ms {
		if m.Kind == MarkerAlarm {
			v.at, v.labels = append(v.at, m.T), append(v.labels, "alarm "+m.Name)
		}
	}
	return v
}

// Plot implements plot.Plotter.
func (v vlines) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	sty := labelStyle(v.line.Color)
	for i, t := range v.at {
		x := trX(t)
		if !c.ContainsX(x) {
			continue
		}
		c.StrokeLine2(v.line, x, c.Min.Y, x, c.Max.Y)
		y := c.Max.Y - 34
		if v.bottom {
			y = c.Min.Y + 12 + vg.Length(i%2)*10
		}
		c.FillText(sty, vg.Point{X: x + 2, Y: y}, v.labels[i])
	}
}

// Thumbnail implements plot.Thumbnailer.
func (v vlines) Thumbnail(c *draw.Canvas) {
	x := (c.Min.X + c.Max.X) / 2
	c.StrokeLine2(v.line, x, c.Min.Y, x, c.Max.Y)
}
