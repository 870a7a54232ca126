package wire

import "time"

// Operations of the app role (an app host: serves inbound HTTP, calls an
// outside dependency through the NAT).
const (
	OpAppStart  = "app.start"  // AppStart; boots in the background
	OpAppStats  = "app.stats"  // -> AppStats
	OpAppHealth = "app.health" // HealthCheck -> HealthResult
)

// AppStart is what an app host runs: it fetches its config from
// Dependency (one attempt at most BootTimeout, then BootBackoff, growing
// by BootFactor up to BootMaxBackoff, between attempts), then serves HTTP
// on Listen. With PerRequest every inbound request calls Dependency (at
// most CallTimeout) and a failed call answers 502; with CallPool > 0 those
// calls reuse up to CallPool keep-alive connections of the host.
type AppStart struct {
	Listen         string        `json:"listen"`
	Dependency     string        `json:"dependency"`
	PerRequest     bool          `json:"per_request"`
	CallPool       int           `json:"call_pool,omitempty"`
	CallTimeout    time.Duration `json:"call_timeout"`
	BootTimeout    time.Duration `json:"boot_timeout"`
	BootBackoff    time.Duration `json:"boot_backoff"`
	BootFactor     float64       `json:"boot_factor"`
	BootMaxBackoff time.Duration `json:"boot_max_backoff"`
}

// AppStats are an app host's counters since its agent started.
type AppStats struct {
	// Serving is true once the config was fetched and the port listens.
	Serving bool `json:"serving"`
	// BootAttempts counts config fetches, the one that worked included.
	BootAttempts int `json:"boot_attempts"`
	// TimeToServe is from app.start to serving (0 while not serving).
	TimeToServe time.Duration `json:"time_to_serve"`
	// Requests counts inbound requests; Failed those answered 502 because
	// the dependency call failed.
	Requests uint64 `json:"requests"`
	Failed   uint64 `json:"failed"`
}

// HealthCheck asks an app host to check Target (ip:port, GET /) within
// Timeout, through its NAT.
type HealthCheck struct {
	Target  string        `json:"target"`
	Timeout time.Duration `json:"timeout"`
}

// HealthResult is one check's outcome; Err says why it failed.
type HealthResult struct {
	OK  bool   `json:"ok"`
	Err string `json:"err,omitempty"`
}
