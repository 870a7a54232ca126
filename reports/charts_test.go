package reports

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// pageCharts cuts the SVG of every chart out of report.html, by chart id.
func pageCharts(t *testing.T, page string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`(?s)<figure id="chart-([a-z-]+)">.*?(<svg.*?</svg>)`).FindAllStringSubmatch(page, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// wantOf is the data lines the fixture's chart spec must show. Its points
// all lie inside the axes (0..the run, 0..the data's maximum with
// headroom), so any axes that contain them give the same lines.
func wantOf(t *testing.T, r *Report, spec chartSpec) []dataLine {
	t.Helper()
	want := wantLines(r.plotData(spec).lines, -1e18, 1e18, -1e18, 1e18)
	require.NotEmpty(t, want, "chart %s has no series with points", spec.id)
	return want
}

// dataPath matches a data line as vgsvg writes it.
var dataPath = regexp.MustCompile(`<path d="[^"]*" style="fill:none;stroke:#[0-9A-F]{6};stroke-width:1\.5[^"]*" />`)

// Every chart of report.html draws a line per series with data, and the
// check sees it: a chart whose data lines are missing, however else it is
// complete, fails both on the page and in the writer.
func TestChartsDrawTheirData(t *testing.T) {
	r := fixture()
	page := renderHTML(t, r)
	charts := pageCharts(t, page)
	specs := r.chartSpecs()
	require.Len(t, charts, len(specs))
	for _, spec := range specs {
		svg, ok := charts[spec.id]
		require.True(t, ok, "chart %s not on the page", spec.id)
		want := wantOf(t, r, spec)
		require.NoError(t, checkDataLines(svg, want), "chart %s", spec.id)

		// Mutation: the page with the chart's data lines deleted.
		stripped := dataPath.ReplaceAllString(svg, "")
		require.Equal(t, len(want), strings.Count(svg, "stroke-width:1.5"), "chart %s: one data line per series", spec.id)
		err := checkDataLines(stripped, want)
		require.Error(t, err, "chart %s without its data lines passed", spec.id)
		for _, w := range want {
			require.ErrorContains(t, err, "series "+w.name+": no "+w.color)
		}
		// Mutation: one line of several dropped is missed too.
		one := strings.Replace(svg, dataPath.FindString(svg), "", 1)
		require.ErrorContains(t, checkDataLines(one, want), "series "+want[0].name)
		// Mutation: a line cut short (half its points) is not the line.
		m := dataPath.FindString(svg)
		d := regexp.MustCompile(`d="([^"]*)"`).FindStringSubmatch(m)[1]
		cut := strings.Split(d, "L")
		half := strings.Replace(svg, d, strings.Join(cut[:len(cut)/2], "L"), 1)
		require.ErrorContains(t, checkDataLines(half, want), "series "+want[0].name)

		// Mutation in the writer: the chart rendered with its data dropped
		// (the same frame, faults, phases and alarms, no series) is refused.
		dropped, err := drawChart(r.plotData(chartSpec{id: spec.id, title: spec.title, yLabel: spec.yLabel, yMax: spec.yMax}))
		require.NoError(t, err, "a chart without series has nothing to draw")
		require.Error(t, checkDataLines(dropped.SVG, want), "chart %s rendered without data passed", spec.id)
	}
}

// A series of one sample (a run of one tick) is a dot: a line of one point
// draws nothing, which the check caught.
func TestChartOfOneSampleDrawsDots(t *testing.T) {
	r := fixture()
	r.Samples = r.Samples[:1]
	page := renderHTML(t, r)
	for _, spec := range r.chartSpecs() {
		svg := pageCharts(t, page)[spec.id]
		want := wantOf(t, r, spec)
		require.NoError(t, checkDataLines(svg, want), "chart %s", spec.id)
		for _, w := range want {
			require.Equal(t, 1, w.points)
			dot := regexp.MustCompile(`<path d="[^"]*A[^"]*" style="fill:` + strings.ToUpper(w.color) + `" />`)
			require.ErrorContains(t, checkDataLines(dot.ReplaceAllString(svg, ""), want), "series "+w.name+": no "+w.color+" dot",
				"chart %s without its dots", spec.id)
		}
	}
}
