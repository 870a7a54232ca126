// Package servers runs the servers a natlab backend host offers: TCP echo,
// HTTP/1.1, h2c (cleartext HTTP/2), UDP echo and a "registrar" whose
// registration endpoint must verify the client's source address through a
// dependency that chaos can saturate.
//
// A Server keeps exact counters (connections accepted and open, requests,
// HTTP status classes, the source addresses it saw) and accepts behaviour
// changes while it runs: a one-off stall, resetting connections, and
// saturating the registrar's dependency. Every method is safe for
// concurrent use.
package servers
