package reports

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func renderHTML(t *testing.T, r *Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, r, "html"); err != nil {
		t.Fatalf("render html: %v", err)
	}
	return buf.String()
}

// xmlElements parses the page as XML (the template writes XHTML-compatible
// markup) and returns every element with its attributes, failing on markup
// that is not well formed.
func xmlElements(t *testing.T, page string) []xml.StartElement {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(page))
	d.Strict = true
	var els []xml.StartElement
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return els
		}
		if err != nil {
			t.Fatalf("report.html is not well formed: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			els = append(els, se.Copy())
		}
	}
}

// textOf returns the text content of the page, entities decoded.
func textOf(t *testing.T, page string) string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(page))
	var b strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return b.String()
		}
		if err != nil {
			t.Fatalf("parse report.html: %v", err)
		}
		if cd, ok := tok.(xml.CharData); ok {
			b.Write(cd)
			b.WriteByte(' ')
		}
	}
}

func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// shadeStyle is how vgsvg writes a fill of the fault shading colour.
var shadeStyle = regexp.MustCompile(`fill:#FF9[0-9A-F]00;fill-opacity:0\.25`)

func TestHTMLStructure(t *testing.T) {
	r := fixture()
	page := renderHTML(t, r)
	els := xmlElements(t, page)

	count := map[string]int{}
	var charts, shaded int
	for _, se := range els {
		count[se.Name.Local]++
		for _, a := range se.Attr {
			if (a.Name.Local == "src" || a.Name.Local == "href") && a.Value != "" && !strings.HasPrefix(a.Value, "#") {
				t.Errorf("external reference <%s %s=%q>: the page must work offline", se.Name.Local, a.Name.Local, a.Value)
			}
		}
		if se.Name.Local == "svg" && attr(se, "class") == "chart" {
			charts++
		}
		if se.Name.Local == "path" && shadeStyle.MatchString(attr(se, "style")) {
			shaded++
		}
	}
	if count["script"] != 0 || count["link"] != 0 || count["img"] != 0 {
		t.Errorf("page has %d script, %d link, %d img elements; want none", count["script"], count["link"], count["img"])
	}
	// throughput, NAT ports, NAT allocation failures, NAT conntrack, latency.
	if charts != 5 {
		t.Errorf("found %d charts, want 5", charts)
	}
	// Two fault windows (one reverted, one open until the end) on each chart.
	if want := 2 * charts; shaded != want {
		t.Errorf("found %d shaded fault windows, want %d (2 per chart)", shaded, want)
	}
	text := textOf(t, page)
	for _, s := range []string{
		"natlab nat-port-exhaustion: FAIL", // title
		"FAIL: 1 of 3 assertions failed",
		"recovery after faults[0] within 5s: error_rate < 1%",
		"23.5% at +15.0s",
		"< 1% by +15.0s",
		"revert check: entries came back: 12",
		"ports-high",
		"forwarding-off", // drawn on the charts too
		"alarm ports-high",
		"fault window",
		"500 servers, no pooling, one NAT IP | ports run out at <peak> & stay out",
	} {
		if !strings.Contains(text, s) {
			t.Errorf("report.html does not show %q", s)
		}
	}
	for _, s := range []string{
		`id="verdict">FAIL</span>`,
		`id="chart-throughput"`, `id="chart-nat-ports"`, `id="chart-nat-failures"`, `id="chart-nat-conntrack"`, `id="chart-latency"`,
		">forwarding-off<", ">alarm ports-high<", ">peak<", // labels drawn in the SVG
	} {
		if !strings.Contains(page, s) {
			t.Errorf("report.html lacks %q", s)
		}
	}
	// Markup in the input is escaped, never interpreted.
	if strings.Contains(page, "<peak>") || strings.Contains(page, "<entries>") {
		t.Error("report.html contains unescaped markup from the report")
	}
	if regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?\s*https?:`).MatchString(page) || strings.Contains(page, "url(http") || strings.Contains(page, "@import") {
		t.Error("report.html references an external resource")
	}
}

// A report without faults has no shading; without samples, no charts, and
// it still renders.
func TestHTMLWithoutFaultsOrSamples(t *testing.T) {
	r := fixture()
	r.Faults = nil
	page := renderHTML(t, r)
	if n := len(shadeStyle.FindAllString(page, -1)); n != 0 {
		t.Errorf("no faults but %d shaded windows", n)
	}
	if strings.Contains(page, "fault window") {
		t.Error("legend lists fault windows for a run without faults")
	}
	r.Samples = nil
	page = renderHTML(t, r)
	xmlElements(t, page)
	if strings.Contains(page, "<svg") {
		t.Error("charts drawn without samples")
	}
}

func TestHTMLIncomplete(t *testing.T) {
	r := fixture()
	r.Verdict, r.Incomplete = VerdictIncomplete, "testbed error: agent nat exited"
	page := renderHTML(t, r)
	require.Contains(t, page, `class="verdict incomplete" id="verdict">INCOMPLETE</span>`)
	require.Contains(t, textOf(t, page), "INCOMPLETE: the run stopped early: testbed error: agent nat exited")
}

// The shaded windows sit where the faults were: on the throughput chart the
// first window (5s..10s) is half as wide as the second (20s..30s, never
// reverted) and starts 15s, three of its widths, before it.
func TestHTMLFaultWindowsPlacement(t *testing.T) {
	page := renderHTML(t, fixture())
	i := strings.Index(page, `id="chart-throughput"`)
	j := strings.Index(page, `id="chart-nat-ports"`)
	require.True(t, i >= 0 && j > i)
	var spans [][2]float64
	for _, se := range xmlElements(t, page[i-len("<figure "):j-len("<figure ")]) {
		if se.Name.Local != "path" || !shadeStyle.MatchString(attr(se, "style")) {
			continue
		}
		var x0, y0, x1, y1 float64
		_, err := fmt.Sscanf(attr(se, "d"), "M%g,%gL%g,%g", &x0, &y0, &x1, &y1)
		require.NoError(t, err, attr(se, "d"))
		spans = append(spans, [2]float64{x0, x1})
	}
	require.Len(t, spans, 2)
	w1, w2 := spans[0][1]-spans[0][0], spans[1][1]-spans[1][0]
	require.InDelta(t, 2.0, w2/w1, 0.01, "10s window vs 5s window")
	require.InDelta(t, 3.0, (spans[1][0]-spans[0][0])/w1, 0.01, "15s apart")
}
