package scenario

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Expr is a parsed condition "METRIC OP VALUE", e.g. "error_rate < 0.1%".
type Expr struct {
	// Text is the condition as written.
	Text   string `json:"text"`
	Metric string `json:"metric"`
	// Op is one of < <= > >= == !=.
	Op string `json:"op"`
	// Value is in the metric's unit: a fraction for ratios, nanoseconds
	// for durations, 1 or 0 for true and false.
	Value float64 `json:"value"`
	// kind is the metric's type.
	kind metricKind
}

// String returns the condition as written.
func (e Expr) String() string { return e.Text }

// Holds reports whether v, in the metric's unit, meets the condition.
func (e Expr) Holds(v float64) bool {
	switch e.Op {
	case "<":
		return v < e.Value
	case "<=":
		return v <= e.Value
	case ">":
		return v > e.Value
	case ">=":
		return v >= e.Value
	case "==":
		return v == e.Value
	case "!=":
		return v != e.Value
	}
	return false
}

var operators = []string{"<", "<=", ">", ">=", "==", "!="}

// exprError is a problem at a byte offset inside an expression.
type exprError struct {
	off int
	msg string
}

// parseExpr splits text into metric, operator and value and types the
// value by the metric. It never panics.
func parseExpr(text string, env metricEnv) (Expr, *exprError) {
	e := Expr{Text: strings.TrimSpace(text)}
	i := 0
	skip := func() {
		for i < len(text) && (text[i] == ' ' || text[i] == '\t') {
			i++
		}
	}
	skip()
	start := i
	for i < len(text) && isMetricChar(text[i]) {
		i++
	}
	e.Metric = text[start:i]
	if e.Metric == "" {
		return e, &exprError{start, fmt.Sprintf("condition %q: want METRIC OP VALUE such as \"error_rate < 1%%\"", e.Text)}
	}
	skip()
	opStart := i
	for i < len(text) && strings.IndexByte("<>=!", text[i]) >= 0 {
		i++
	}
	e.Op = text[opStart:i]
	if e.Op == "" {
		return e, &exprError{opStart, fmt.Sprintf("condition %q: want an operator after %q: valid operators are %s", e.Text, e.Metric, strings.Join(operators, " "))}
	}
	if !isOperator(e.Op) {
		return e, &exprError{opStart, fmt.Sprintf("bad operator %q in %q: valid operators are %s", e.Op, e.Text, strings.Join(operators, " "))}
	}
	skip()
	valStart := i
	val := strings.TrimSpace(text[i:])
	if val == "" {
		return e, &exprError{valStart, fmt.Sprintf("condition %q: want a value after %q", e.Text, e.Op)}
	}
	if j := strings.IndexAny(val, " \t"); j >= 0 {
		return e, &exprError{valStart + j + 1, fmt.Sprintf("condition %q: unexpected %q after the value", e.Text, strings.TrimSpace(val[j:]))}
	}
	spec, msg := lookupMetric(e.Metric, env)
	if msg != "" {
		return e, &exprError{start, msg}
	}
	e.kind = spec.kind
	v, msg := parseValue(val, e.Metric, spec)
	if msg != "" {
		return e, &exprError{valStart, msg}
	}
	if spec.kind == kindBool && e.Op != "==" && e.Op != "!=" {
		return e, &exprError{opStart, fmt.Sprintf("%s is true or false: compare it with == or !=, not %s", e.Metric, e.Op)}
	}
	e.Value = v
	return e, nil
}

// parseValue reads a value in the unit of the metric.
func parseValue(s, metric string, spec metricSpec) (float64, string) {
	switch spec.kind {
	case kindBool:
		switch s {
		case "true":
			return 1, ""
		case "false":
			return 0, ""
		}
		return 0, fmt.Sprintf("value %q for %s: want true or false", s, metric)
	case kindDuration:
		if d, err := time.ParseDuration(s); err == nil {
			return float64(d), ""
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f * float64(spec.unit), ""
		}
		return 0, fmt.Sprintf("value %q for %s: want a duration such as 250ms (a bare number means %s)", s, metric, unitName(spec.unit))
	case kindRatio:
		if v, ok := parseNumberOrPercent(s); ok {
			return v, ""
		}
		return 0, fmt.Sprintf("value %q for %s: want a percentage such as 0.1%% or a fraction such as 0.001", s, metric)
	default:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			what := "a count"
			if spec.kind == kindRate {
				what = "a rate per second"
			}
			return 0, fmt.Sprintf("value %q for %s: %s is %s, want a number such as 100", s, metric, metric, what)
		}
		return f, ""
	}
}

func unitName(d time.Duration) string {
	if d == time.Second {
		return "seconds"
	}
	return "milliseconds"
}

func isMetricChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

func isOperator(op string) bool {
	for _, o := range operators {
		if o == op {
			return true
		}
	}
	return false
}

func quote(s string) string { return strconv.Quote(s) }
