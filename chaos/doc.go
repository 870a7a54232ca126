// Package chaos injects the faults real NAT incidents were made of into a
// running testbed, reverts them, and proves each revert restored the state
// recorded before the inject.
//
// Every kind lives in a file of its own behind the Fault interface; the
// list of kinds is the visible table in registry.go. A Timeline injects
// and reverts faults on time and records when it actually did.
package chaos
