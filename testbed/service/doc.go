// Package service describes the servers a backend host offers as plain
// types: their specs (protocol, listen address) and the counters they
// report. The runner and the scenario parser use it without linking the
// servers themselves, which live in agent/servers.
package service
