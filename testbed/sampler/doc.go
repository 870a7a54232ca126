// Package sampler reads the NAT boxes and backends of a running testbed
// every tick and keeps the readings as a time series; the runner judges
// alarms and writes the series out.
package sampler
