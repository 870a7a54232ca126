package reports

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// writer renders a Report in one format.
type writer interface {
	// name is the format's name ("json", "md", ...).
	name() string
	// file is the file the format is written to in a run directory.
	file() string
	// write renders r to w.
	write(w io.Writer, r *Report) error
}

// writers is every format, in the order Write writes them.
var writers = []writer{
	jsonWriter{},
	csvWriter{},
	markdownWriter{},
	htmlWriter{},
	junitWriter{},
}

// Formats names every format Write knows, in the order it writes them.
func Formats() []string {
	out := make([]string, len(writers))
	for i, w := range writers {
		out[i] = w.name()
	}
	return out
}

// FileName returns the file name format is written to in a run directory.
func FileName(format string) (string, error) {
	w, err := lookup(format)
	if err != nil {
		return "", err
	}
	return w.file(), nil
}

func lookup(format string) (writer, error) {
	for _, w := range writers {
		if w.name() == format {
			return w, nil
		}
	}
	return nil, fmt.Errorf("unknown report format %q (known: %v)", format, Formats())
}

// Render writes r in one format to w (e.g. the markdown summary to
// $GITHUB_STEP_SUMMARY).
func Render(w io.Writer, r *Report, format string) error {
	f, err := lookup(format)
	if err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("render %s: %w", format, err)
	}
	if err := f.write(w, r); err != nil {
		return fmt.Errorf("render %s: %w", format, err)
	}
	return nil
}

// Write writes r into dir (created if missing) in the given formats, all of
// them when none is given. Each file is written to a temporary name and
// renamed, so a file is either complete or absent. Formats that fail do not
// stop the others; the errors are joined.
func Write(dir string, r *Report, formats ...string) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("write reports: %w", err)
	}
	if len(formats) == 0 {
		formats = Formats()
	}
	var chosen []writer
	for _, name := range formats {
		w, err := lookup(name)
		if err != nil {
			return fmt.Errorf("write reports: %w", err)
		}
		if !slices.Contains(chosen, w) {
			chosen = append(chosen, w)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write reports: %w", err)
	}
	r, err := asWritten(r)
	if err != nil {
		return fmt.Errorf("write reports: %w", err)
	}
	var errs []error
	for _, w := range chosen {
		if err := writeAtomic(filepath.Join(dir, w.file()), func(out io.Writer) error { return w.write(out, r) }); err != nil {
			errs = append(errs, fmt.Errorf("write %s: %w", w.name(), err))
		}
	}
	return errors.Join(errs...)
}

// writeAtomic renders into path atomically: the file is complete or
// absent.
func writeAtomic(path string, render func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := render(&buf); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// asWritten is r as report.json holds it (durations to the microsecond),
// so that every format shows exactly the figures of report.json, and
// natlab report, which renders from report.json, writes the same bytes.
func asWritten(r *Report) (*Report, error) {
	var buf bytes.Buffer
	if err := (jsonWriter{}).write(&buf, r); err != nil {
		return nil, err
	}
	return Decode(&buf)
}
