package loadgen

import (
	"encoding/json"
	"fmt"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram geometry shared by every histogram so that merges are exact:
// microseconds from 1 µs to 1 h, 3 significant digits.
const (
	histLowest  = 1
	histHighest = int64(time.Hour / time.Microsecond)
	histSigFigs = 3
)

// Histogram is an HDR latency histogram with microsecond resolution. The zero
// value is not usable; use NewHistogram. It is not safe for concurrent use.
type Histogram struct {
	h *hdr.Histogram
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{h: hdr.New(histLowest, histHighest, histSigFigs)}
}

// Record adds one latency; values are clamped to [1 µs, 1 h].
func (h *Histogram) Record(d time.Duration) {
	v := int64(d / time.Microsecond)
	if v < histLowest {
		v = histLowest
	}
	if v > histHighest {
		v = histHighest
	}
	_ = h.h.RecordValue(v) // cannot fail: v is within the geometry
}

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return uint64(h.h.TotalCount()) }

// Quantile returns the latency at quantile q in [0, 1] (0 when empty).
func (h *Histogram) Quantile(q float64) time.Duration {
	return time.Duration(h.h.ValueAtQuantile(q*100)) * time.Microsecond
}

// Max returns the largest recorded latency (within histogram precision).
func (h *Histogram) Max() time.Duration { return time.Duration(h.h.Max()) * time.Microsecond }

// Mean returns the mean latency.
func (h *Histogram) Mean() time.Duration {
	return time.Duration(h.h.Mean() * float64(time.Microsecond))
}

// Merge adds every value of o to h. It is exact: all histograms share one
// geometry.
func (h *Histogram) Merge(o *Histogram) error {
	if o == nil {
		return nil
	}
	if dropped := h.h.Merge(o.h); dropped != 0 {
		return fmt.Errorf("merge histogram: %d values out of range", dropped)
	}
	return nil
}

// Clone returns an independent copy.
func (h *Histogram) Clone() *Histogram { return &Histogram{h: hdr.Import(h.h.Export())} }

// Equal reports whether both histograms hold the same values.
func (h *Histogram) Equal(o *Histogram) bool { return h.h.Equals(o.h) }

// Reset empties the histogram.
func (h *Histogram) Reset() { h.h.Reset() }

// Percentiles summarises a latency distribution.
type Percentiles struct {
	Count uint64        `json:"count"`
	P50   time.Duration `json:"p50"`
	P90   time.Duration `json:"p90"`
	P99   time.Duration `json:"p99"`
	P999  time.Duration `json:"p999"`
	Max   time.Duration `json:"max"`
	Mean  time.Duration `json:"mean"`
}

// Summary returns the usual percentiles.
func (h *Histogram) Summary() Percentiles {
	return Percentiles{
		Count: h.Count(), P50: h.Quantile(0.5), P90: h.Quantile(0.9), P99: h.Quantile(0.99),
		P999: h.Quantile(0.999), Max: h.Max(), Mean: h.Mean(),
	}
}

// histJSON is the wire form: readable percentiles (ignored when decoding)
// plus the sparse bucket counts that make decoding exact.
type histJSON struct {
	Percentiles
	Unit    string     `json:"unit"`
	Buckets [][2]int64 `json:"buckets"` // [bucket index, count], non-zero only
}

// MarshalJSON encodes the percentiles and the exact sparse bucket counts.
func (h *Histogram) MarshalJSON() ([]byte, error) {
	snap := h.h.Export()
	out := histJSON{Percentiles: h.Summary(), Unit: "us", Buckets: [][2]int64{}}
	for i, c := range snap.Counts {
		if c != 0 {
			out.Buckets = append(out.Buckets, [2]int64{int64(i), c})
		}
	}
	return json.Marshal(out)
}

// UnmarshalJSON restores a histogram written by MarshalJSON.
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var in histJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("decode histogram: %w", err)
	}
	if in.Unit != "us" {
		return fmt.Errorf("decode histogram: unit %q, want \"us\"", in.Unit)
	}
	snap := hdr.New(histLowest, histHighest, histSigFigs).Export()
	for _, bc := range in.Buckets {
		if bc[0] < 0 || bc[0] >= int64(len(snap.Counts)) || bc[1] < 0 {
			return fmt.Errorf("decode histogram: bucket %d (count %d) out of range", bc[0], bc[1])
		}
		snap.Counts[bc[0]] += bc[1]
	}
	h.h = hdr.Import(snap)
	return nil
}

// CumulativeCounts returns, for each bound (in increasing order), how many
// recorded values are not above it, within the histogram's precision: the
// buckets of a Prometheus histogram.
func (h *Histogram) CumulativeCounts(bounds []time.Duration) []uint64 {
	out := make([]uint64, len(bounds))
	var n uint64
	i := 0
	for _, b := range h.h.Distribution() {
		if b.Count == 0 {
			continue
		}
		for i < len(bounds) && b.To > int64(bounds[i]/time.Microsecond) {
			out[i] = n
			i++
		}
		if i == len(bounds) {
			return out
		}
		n += uint64(b.Count)
	}
	for ; i < len(bounds); i++ {
		out[i] = n
	}
	return out
}
