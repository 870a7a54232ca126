// Package browsertest opens natlab's HTML reports in a real browser, the
// system's headless Chromium driven by chromedp, and reports what a reader
// would see: console errors, and for every chart its size on the page,
// its plotted data and its fault shading. A screenshot of the whole page
// is written as a test artifact (go test -artifacts keeps it).
package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/natlab/natlab/internal/tooltest"
)

// Chart is one chart as the browser laid it out.
type Chart struct {
	ID string `json:"id"`
	// Width and Height are its size on the page in CSS pixels.
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
	// Lines are its data lines that the browser drew with some extent
	// (a stroked path of the data line width whose bounding box is not
	// empty); Dots the single-sample series.
	Lines int `json:"lines"`
	Dots  int `json:"dots"`
	// Vertices is the number of points of all its data lines.
	Vertices int `json:"vertices"`
	// Shaded is its fault windows (fills of the shading colour).
	Shaded int `json:"shaded"`
}

// Page is what the browser showed.
type Page struct {
	Title string
	// Errors are console errors, uncaught exceptions and error log entries.
	Errors []string
	Charts []Chart
	// Screenshot is the path of the full-page PNG.
	Screenshot string
}

// chromium returns the system Chromium: required in CI, else the test is
// skipped.
func chromium(t testing.TB) string {
	return tooltest.Require(t, "chromium", "chromium", "chromium-browser", "google-chrome")
}

// inspect is run in the page: every chart's layout, data and shading, as
// natlab's SVG writes them (data lines stroked 1.5 wide, single samples
// as filled arcs, fault windows filled #FF9x00 at 25% opacity: vgsvg rounds the colour).
const inspect = `Array.from(document.querySelectorAll('svg.chart')).map(function (svg) {
  var r = svg.getBoundingClientRect();
  var fig = svg.closest('figure');
  var c = {id: fig ? fig.id : '', width: r.width, height: r.height, lines: 0, dots: 0, vertices: 0, shaded: 0};
  svg.querySelectorAll('path').forEach(function (p) {
    var st = (p.getAttribute('style') || '').replace(/\s/g, '');
    var d = p.getAttribute('d') || '';
    var b = p.getBBox();
    if (/fill:#FF9[0-9A-F]00;fill-opacity:0\.25/i.test(st)) { c.shaded++; return; }
    if (/stroke-width:1\.5(;|$)/.test(st) && /fill:none/.test(st) && (b.width > 0 || b.height > 0)) {
      c.lines++;
      c.vertices += (d.match(/[ML]/g) || []).length;
      return;
    }
    if (/A/.test(d) && !/fill:none/.test(st) && b.width > 0) { c.dots++; }
  });
  return c;
})`

// Open loads the HTML file at path in headless Chromium, waits for it to
// settle, and returns what it showed; the screenshot is named after name.
func Open(t testing.TB, path, name string) Page {
	t.Helper()
	exe := chromium(t)
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	defer cancelT()

	// Subscribe before the page loads, so that no message is lost.
	cctx, stopConsole := context.WithCancel(ctx)
	messages := chromedp.Console(cctx)
	var page Page
	var mu sync.Mutex
	var errs []string
	read := make(chan struct{})
	go func() { // read as they come: a cancelled subscription drops what is queued
		defer close(read)
		for m, err := range messages {
			if err != nil {
				return // the subscription ended
			}
			if m.IsException() || m.Type == chromedp.ConsoleError {
				mu.Lock()
				errs = append(errs, m.String())
				mu.Unlock()
			}
		}
	}()
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+abs), chromedp.WaitReady("body"),
		chromedp.Sleep(300*time.Millisecond)); err != nil { // late console messages
		stopConsole()
		<-read
		t.Fatalf("open %s in chromium: %v", path, err)
	}
	var err2 error
	page.Title, err2 = chromedp.Run(ctx, chromedp.Title())
	if err2 != nil {
		t.Fatalf("title of %s: %v", path, err2)
	}
	charts, err := chromedp.Run(ctx, chromedp.Evaluate[[]Chart](inspect))
	if err != nil {
		t.Fatalf("inspect the charts of %s: %v", path, err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot of %s: %v", path, err)
	}
	stopConsole()
	<-read
	mu.Lock()
	page.Errors = errs
	mu.Unlock()
	shot := filepath.Join(t.ArtifactDir(), name+".png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatalf("write screenshot: %v", err)
	}
	t.Logf("screenshot of %s: %s (%d bytes)", path, shot, len(png))
	page.Charts, page.Screenshot = charts, shot
	return page
}

// Check fails t unless the page has no console errors and every chart is
// laid out with plotted data (wantLines data lines or dots each, at least
// one), and, when faults is true, fault shading on every chart (none
// otherwise).
func Check(t testing.TB, p Page, wantCharts int, faults bool) {
	t.Helper()
	if len(p.Errors) > 0 {
		t.Errorf("console errors: %v", p.Errors)
	}
	if len(p.Charts) != wantCharts {
		t.Errorf("%d charts on the page, want %d", len(p.Charts), wantCharts)
	}
	for _, c := range p.Charts {
		what := fmt.Sprintf("chart %s", c.ID)
		if c.Width < 300 || c.Height < 100 {
			t.Errorf("%s is laid out %.0fx%.0f px: not visible", what, c.Width, c.Height)
		}
		if c.Lines+c.Dots == 0 {
			t.Errorf("%s has no plotted data: only its frame", what)
		}
		if c.Lines > 0 && c.Vertices < 2*c.Lines {
			t.Errorf("%s: %d lines with %d vertices", what, c.Lines, c.Vertices)
		}
		switch {
		case faults && c.Shaded == 0:
			t.Errorf("%s has no fault shading, but the run had faults", what)
		case !faults && c.Shaded > 0:
			t.Errorf("%s shades %d fault windows, but the run had none", what, c.Shaded)
		}
	}
}
