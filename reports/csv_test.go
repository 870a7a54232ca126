package reports

import (
	"encoding/csv"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func readCSV(t *testing.T, r *Report) [][]string {
	t.Helper()
	s, err := renderString(r, "csv")
	require.NoError(t, err)
	rows, err := csv.NewReader(strings.NewReader(s)).ReadAll() // also checks every row has the header's width
	require.NoError(t, err)
	return rows
}

func TestCSVRows(t *testing.T) {
	rows := readCSV(t, fixture())
	require.Len(t, rows, 1+30, "header + one row per sample")
	head := rows[0]
	col := func(name string) int {
		i := slices.Index(head, name)
		require.GreaterOrEqual(t, i, 0, "no column %s", name)
		return i
	}
	// tick 7: ip_forward off on nat, 2 connect timeouts/s.
	r7 := rows[7]
	require.Equal(t, "7", r7[col("t_s")])
	require.Equal(t, "0", r7[col("nat.nat.ip_forward")])
	require.Equal(t, "2", r7[col("connect_timeout_per_s")])
	require.Equal(t, "1.003", r7[col("connect_p99_s")])
	require.Equal(t, "0.35", r7[col("nat.nat.port_utilization")])
	// tick 17 has no reading of nat-b: empty cells, not zeros.
	require.Equal(t, "", rows[17][col("nat.nat-b.ip_forward")])
	require.Equal(t, "", rows[17][col("nat.nat-b.conntrack")])
	require.Equal(t, "1", rows[16][col("nat.nat-b.ip_forward")])
	require.Equal(t, "31", rows[25][col("nat.nat.allocation_failures")])
}

// The columns depend only on the NAT boxes, never on which outcomes
// happened, so runs of one scenario can be compared column by column.
func TestCSVColumnsStable(t *testing.T) {
	a := fixture()
	b := fixture()
	for i := range b.Samples {
		b.Samples[i].Outcomes = nil
	}
	b.Samples = b.Samples[:1]
	require.Equal(t, readCSV(t, a)[0], readCSV(t, b)[0])
	// No samples: the header alone.
	b.Samples = nil
	require.Len(t, readCSV(t, b), 1)
	// NAT columns follow the testbed order, then other names sorted.
	c := fixture()
	c.Testbed.NATs = c.Testbed.NATs[1:] // only nat-b declared
	c.Samples[0].NAT["aaa"] = NATSample{}
	var nats []string
	for _, h := range readCSV(t, c)[0] {
		if strings.HasSuffix(h, ".conntrack") {
			nats = append(nats, h)
		}
	}
	require.Equal(t, []string{"nat.nat-b.conntrack", "nat.aaa.conntrack", "nat.nat.conntrack"}, nats)
}

func TestNum(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		prec int
		want string
	}{
		{0, 3, "0"}, {1.5, 3, "1.5"}, {1.0 / 3, 3, "0.333"}, {100, 3, "100"}, {-0.0001, 3, "0"}, {2.25e-3, 6, "0.00225"}, {12, 0, "12"},
	} {
		require.Equal(t, tc.want, num(tc.v, tc.prec), "%v", tc.v)
	}
}

// samples.csv reads back into the samples it was written from.
func TestReadSamplesRoundTrip(t *testing.T) {
	r := fixture()
	s, err := renderString(r, "csv")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadSamples(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(r.Samples) {
		t.Fatalf("read %d samples, want %d", len(got), len(r.Samples))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], r.Samples[i]) {
			t.Fatalf("sample %d:\n got %+v\nwant %+v", i, got[i], r.Samples[i])
		}
	}
}
