package servers

import (
	"strconv"
	"sync/atomic"
)

// statusClasses counts HTTP responses by class: index 1 is 1xx ... 5 is 5xx.
type statusClasses [6]atomic.Uint64

// add counts one response with status code.
func (s *statusClasses) add(code int) {
	if i := code / 100; i >= 1 && i <= 5 {
		s[i].Add(1)
	}
}

// snapshot returns the non-zero classes keyed "2xx" etc.
func (s *statusClasses) snapshot() map[string]uint64 {
	m := make(map[string]uint64)
	for i := 1; i <= 5; i++ {
		if n := s[i].Load(); n > 0 {
			m[strconv.Itoa(i)+"xx"] = n
		}
	}
	return m
}
