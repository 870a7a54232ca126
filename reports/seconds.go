package reports

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Seconds is a duration that JSON encodes as a number of seconds (float,
// microsecond precision), the unit of every "_s" field of the schema.
type Seconds time.Duration

// D returns s as a time.Duration.
func (s Seconds) D() time.Duration { return time.Duration(s) }

// Float returns s in seconds.
func (s Seconds) Float() float64 { return time.Duration(s).Seconds() }

// MarshalJSON encodes s as seconds rounded to the microsecond.
func (s Seconds) MarshalJSON() ([]byte, error) {
	us := time.Duration(s).Round(time.Microsecond) / time.Microsecond
	return json.Marshal(float64(us) / 1e6)
}

// UnmarshalJSON decodes a number of seconds.
func (s *Seconds) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("decode seconds: %w", err)
	}
	if math.IsNaN(f) || math.Abs(f) > float64(math.MaxInt64)/1e9 {
		return fmt.Errorf("decode seconds: %v out of range", f)
	}
	*s = Seconds(time.Duration(math.Round(f*1e6)) * time.Microsecond)
	return nil
}
