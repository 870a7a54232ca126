package scenario

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestParseExpr(t *testing.T) {
	env := metricEnv{backends: []string{"api"}, alarms: []string{"hot"}, faults: []string{"lower", "grow", "cut"},
		natConfigs: []string{"lower"}, vmStarts: []string{"grow"}, clients: []string{"web", "web-v2"}}
	cases := []struct {
		text  string
		op    string
		value float64
		err   string // the message; "" when valid
		off   int    // where the problem is
	}{
		{text: "error_rate < 0.1%", op: "<", value: 0.001},
		{text: "error_rate<=0.05", op: "<=", value: 0.05},
		{text: "  attempts >= 100  ", op: ">=", value: 100},
		{text: "connect.p99 < 250ms", op: "<", value: float64(250 * time.Millisecond)},
		{text: "connect.p99 < 250", op: "<", value: float64(250 * time.Millisecond)},
		{text: "nat.ip_forward_off_seconds > 2", op: ">", value: float64(2 * time.Second)},
		{text: "alarm.hot.first_fired < 1m", op: "<", value: float64(time.Minute)},
		{text: "alarm.hot.fired != false", op: "!=", value: 0},
		{text: "outcomes.addr_not_avail == 0", op: "==", value: 0},
		{text: "backend.api.accepted > 1e3", op: ">", value: 1000},
		{text: "fault.lower.observed_resets == 384", op: "==", value: 384},
		{text: "fault.lower.resets == 1", err: `unknown fault metric "fault.lower.resets": valid are fault.lower.<predicted_resets|predicted_dropped|observed_resets|observed_dropped>`},
		{text: "fault.other.observed_resets == 1", err: `metric "fault.other.observed_resets" names "other", which is no fault of kind nat-config or vm-start: those faults are lower, grow`},
		{text: "fault.grow.waiting == 1", op: "==", value: 1},
		{text: "client.web.errors == 0", op: "==", value: 0},
		{text: "client.web-v2.error_rate < 1%", op: "<", value: 0.01},
		{text: "client.web.ok >= 10", op: ">=", value: 10},
		{text: "client.wbe.errors == 0", err: `metric "client.wbe.errors" names unknown client host "wbe": client hosts are web, web-v2`},
		{text: "client.webv2.errors == 0", err: `metric "client.webv2.errors" names unknown client host "webv2": did you mean "web-v2"? client hosts are web, web-v2`},
		{text: "client.web.timeouts == 0", err: `unknown client metric "client.web.timeouts": valid are client.web.<attempts|error_rate|errors|ok>`},
		{text: "fault.grow.allocated >= 2", op: ">=", value: 2},
		{text: "fault.grow.predicted_resets == 1", err: `unknown fault metric "fault.grow.predicted_resets": valid are fault.grow.<allocated|waiting>`},
		{text: "fault.cut.failing_after <= 7", op: "<=", value: float64(7 * time.Second)},
		{text: "fault.lower.failing_after < 500ms", op: "<", value: float64(500 * time.Millisecond)},
		{text: "fault.cut.waiting == 1", err: `metric "fault.cut.waiting" names "cut", which is no fault of kind nat-config or vm-start: those faults are lower, grow`},
		{text: "", err: `condition "": want METRIC OP VALUE such as "error_rate < 1%"`},
		{text: "error_rate", err: `condition "error_rate": want an operator after "error_rate": valid operators are < <= > >= == !=`, off: 10},
		{text: "error_rate = 1%", err: `bad operator "=" in "error_rate = 1%": valid operators are < <= > >= == !=`, off: 11},
		{text: "error_rate <", err: `condition "error_rate <": want a value after "<"`, off: 12},
		{text: "error_rate < 1% or 2", err: `condition "error_rate < 1% or 2": unexpected "or 2" after the value`, off: 16},
		{text: "error_rate < lots", err: `value "lots" for error_rate: want a percentage such as 0.1% or a fraction such as 0.001`, off: 13},
		{text: "ok > 5%", err: `value "5%" for ok: ok is a count, want a number such as 100`, off: 5},
		{text: "alarm.hot.fired < true", err: `alarm.hot.fired is true or false: compare it with == or !=, not <`, off: 16},
		{text: "alarm.hot.rang == true", err: `unknown alarm metric "alarm.hot.rang": valid are alarm.hot.<fired|fired_before_first_failure|first_fired>`},
		{text: "backend.api.closed > 0", err: `unknown backend metric "backend.api.closed": valid are backend.api.<accepted|dependency_timeouts|failed_clients|holepunch_requests|listen_drops|mapping_changed|peer_resets|probe_timeouts|registrations|registrations_failed_closed|verifications|dependency_peak_in_use|dependency_peak_queue>`},
		{text: "request.p42 < 1s", err: `unknown metric "request.p42": did you mean "request.p50"? valid metrics are ` + metricsHelp},
		{text: "throughput > NaN", err: `value "NaN" for throughput: throughput is a rate per second, want a number such as 100`, off: 13},
	}
	for _, tc := range cases {
		t.Run(tc.text, func(t *testing.T) {
			e, perr := parseExpr(tc.text, env)
			if tc.err != "" {
				if assert.NotNil(t, perr) {
					assert.Equal(t, tc.err, perr.msg)
					assert.Equal(t, tc.off, perr.off)
				}
				return
			}
			if assert.Nil(t, perr) {
				assert.Equal(t, tc.op, e.Op)
				assert.InDelta(t, tc.value, e.Value, 1e-9)
			}
		})
	}
}

func TestExprHolds(t *testing.T) {
	cases := []struct {
		op   string
		v    float64
		want bool
	}{
		{"<", 0.9, true}, {"<", 1, false},
		{"<=", 1, true}, {"<=", 1.1, false},
		{">", 1.1, true}, {">", 1, false},
		{">=", 1, true}, {">=", 0.9, false},
		{"==", 1, true}, {"==", 0, false},
		{"!=", 0, true}, {"!=", 1, false},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, Expr{Op: tc.op, Value: 1}.Holds(tc.v), "%v %s 1", tc.v, tc.op)
	}
}

func TestClosest(t *testing.T) {
	cases := []struct {
		in, want string
	}{
		{"rat", "rate"},
		{"Rate", "rate"},
		{"strateg", "strategy"},
		{"xyz", ""},
		{"a", ""},
		{"completely-different", ""},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, closest(tc.in, loadKeys), tc.in)
	}
}
