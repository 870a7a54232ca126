package portrange

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Range
		err  string
	}{
		{in: "1024-1279", want: Range{1024, 1279}},
		{in: " 80 ", want: Range{80, 80}},
		{in: "1-65535", want: Range{1, 65535}},
		{in: "40000 - 40003", want: Range{40000, 40003}},
		{in: "", err: "empty: want first-last such as 1024-1279, or a single port"},
		{in: "0-10", err: `"0-10": ports must be within 1-65535`},
		{in: "10-70000", err: "ports must be within 1-65535"},
		{in: "2000-1000", err: "the range is empty: first port 2000 is above last port 1000"},
		{in: "a-b", err: `"a-b": want first-last such as 1024-1279`},
		{in: "1-2-3", err: "want first-last"},
	} {
		got, err := Parse(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want error containing %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %v %v, want %v", tc.in, got, err, tc.want)
		}
	}
	if r := (Range{1024, 1279}); r.Size() != 256 || r.String() != "1024-1279" {
		t.Errorf("size %d string %q", r.Size(), r.String())
	}
	if (Range{5, 4}).Size() != 0 || (Range{5, 4}).Validate() == nil || (Range{0, 4}).Validate() == nil {
		t.Error("an invalid range has a size or validates")
	}
	if !(Range{1, 10}).Contains(Range{2, 9}) || (Range{1, 10}).Contains(Range{2, 11}) {
		t.Error("Contains")
	}
	if !(Range{1, 10}).Overlaps(Range{10, 12}) || (Range{1, 10}).Overlaps(Range{11, 12}) {
		t.Error("Overlaps")
	}
}
