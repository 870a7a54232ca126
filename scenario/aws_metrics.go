package scenario

import (
	"github.com/natlab/natlab/testbed/natcfg"
)

// awsMetrics are AWS NAT gateway's metrics (profile aws-nat-gateway),
// named as CloudWatch names them in namespace AWS/NATGateway. Over a
// window, ActiveConnectionCount is the highest sampled (CloudWatch's
// useful statistic is Max) and the counts are what they rose by (Sum).
// As an alarm, each is the tick's value (the counts: the tick's rise).
var awsMetrics = map[string]metricSpec{
	"nat.ErrorPortAllocation":        {kind: kindCount},
	"nat.PacketsDropCount":           {kind: kindCount},
	"nat.ActiveConnectionCount":      {kind: kindCount},
	"nat.ConnectionAttemptCount":     {kind: kindCount},
	"nat.ConnectionEstablishedCount": {kind: kindCount},
	"nat.IdleTimeoutCount":           {kind: kindCount},
}

// awsValue is the value of an AWS NAT gateway metric over a window; ok
// is false for other metrics, and why says there is none when no NAT box
// ran the profile.
func awsValue(metric string, a *AWSStats) (v float64, why string, ok bool) {
	if _, known := awsMetrics[metric]; !known {
		return 0, "", false
	}
	if a == nil {
		return 0, "no NAT box ran profile " + natcfg.ProfileAWSNATGateway + ", whose metric " + metric + " is", true
	}
	switch metric {
	case "nat.ErrorPortAllocation":
		return float64(a.ErrorPortAllocation), "", true
	case "nat.PacketsDropCount":
		return float64(a.PacketsDropCount), "", true
	case "nat.ActiveConnectionCount":
		return float64(a.ActiveConnectionCount), "", true
	case "nat.ConnectionAttemptCount":
		return float64(a.ConnectionAttemptCount), "", true
	case "nat.ConnectionEstablishedCount":
		return float64(a.ConnectionEstablishedCount), "", true
	}
	return float64(a.IdleTimeoutCount), "", true
}
