package reports

import "bytes"

func renderString(r *Report, format string) (string, error) {
	var buf bytes.Buffer
	err := Render(&buf, r, format)
	return buf.String(), err
}
