//go:build race

package natbox

// raceEnabled says the tests run under the race detector.
const raceEnabled = true
