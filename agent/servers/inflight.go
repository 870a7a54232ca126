package servers

import "sync"

// inflight counts running handlers and lets Close wait for them; unlike a
// WaitGroup it refuses new work once closing, so there is no Add/Wait race.
type inflight struct {
	mu      sync.Mutex
	cond    *sync.Cond
	n       int
	closing bool
}

// enter registers one handler; false means the server is closing and the
// handler must not run.
func (f *inflight) enter() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closing {
		return false
	}
	f.n++
	return true
}

// leave marks one handler done.
func (f *inflight) leave() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n--
	if f.n == 0 && f.cond != nil {
		f.cond.Broadcast()
	}
}

// closeAndWait refuses new handlers and waits for running ones to leave.
func (f *inflight) closeAndWait() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closing = true
	if f.cond == nil {
		f.cond = sync.NewCond(&f.mu)
	}
	for f.n > 0 {
		f.cond.Wait()
	}
}
