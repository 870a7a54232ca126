// Package sampler reads the NAT boxes and backends of a running testbed
// every tick, keeps the readings as a time series with fault markers,
// watches threshold alarms on them and exports flat rows for CSV.
package sampler
