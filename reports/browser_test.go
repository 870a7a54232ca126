package reports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/internal/browsertest"
)

// The HTML reports in a real browser (headless Chromium): no console
// errors, every chart laid out with its data plotted, fault windows shaded
// when there were faults. Screenshots are test artifacts.
func TestReportsInChromium(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, render func(f *os.File) error) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		require.NoError(t, err)
		require.NoError(t, render(f))
		require.NoError(t, f.Close())
		return p
	}
	run := write("report.html", func(f *os.File) error { return Render(f, fixture(), "html") })
	calm := fixture()
	calm.Faults = nil
	noFaults := write("calm.html", func(f *os.File) error { return Render(f, calm, "html") })
	changed := write("pre-change.html", func(f *os.File) error { return Render(f, preChangeFixture(), "html") })
	cmp := write("compare.html", func(f *os.File) error { return RenderComparison(f, compareFixture(), "html") })

	t.Run("run", func(t *testing.T) {
		p := browsertest.Open(t, run, "report")
		browsertest.Check(t, p, len(fixture().chartSpecs()), true)
		assert.Equal(t, "natlab nat-port-exhaustion: FAIL", p.Title)
		for _, c := range p.Charts {
			if c.ID == "chart-throughput" {
				assert.Equal(t, 2, c.Lines, "ok/s and errors/s")
				assert.Equal(t, 2, c.Shaded, "two fault windows")
			}
		}
	})
	t.Run("run without faults", func(t *testing.T) {
		browsertest.Check(t, browsertest.Open(t, noFaults, "report-no-faults"), len(calm.chartSpecs()), false)
	})
	// A run with live NAT config changes: the pre-change check's table
	// lays out beside the charts, with no console error.
	t.Run("run with a pre-change check", func(t *testing.T) {
		browsertest.Check(t, browsertest.Open(t, changed, "report-pre-change"), len(preChangeFixture().chartSpecs()), true)
	})
	// The browser check sees what it is there for: a page whose data lines
	// were dropped and that logs an error.
	t.Run("broken page is caught", func(t *testing.T) {
		page, err := os.ReadFile(run)
		require.NoError(t, err)
		broken := dataPath.ReplaceAllString(string(page), "")
		broken = strings.Replace(broken, "</body>", `<script>console.error("boom")</script></body>`, 1)
		p := filepath.Join(dir, "broken.html")
		require.NoError(t, os.WriteFile(p, []byte(broken), 0o644))
		got := browsertest.Open(t, p, "broken")
		require.NotEmpty(t, got.Errors, "the console error was not seen")
		assert.Contains(t, got.Errors[0], "boom")
		for _, c := range got.Charts {
			assert.Zero(t, c.Lines, "%s: the dropped data lines were still counted", c.ID)
		}
	})
	t.Run("compare", func(t *testing.T) {
		p := browsertest.Open(t, cmp, "compare")
		browsertest.Check(t, p, len(compareCharts), true)
		for _, c := range p.Charts {
			assert.Equal(t, 3, c.Lines, "%s: one line per variant", c.ID)
		}
	})
}
