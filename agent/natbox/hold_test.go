package natbox

import (
	"net/netip"
	"testing"
	"time"
)

// TestManagedHold compares plain Linux NAT (TIME_WAIT entries are evicted
// on collision) with the managed-NAT hold, 400 sequential connections each.
func TestManagedHold(t *testing.T) {
	dst := netip.AddrPortFrom(backendIP, 8080)
	t.Run("plain", func(t *testing.T) {
		tp := newTopo(t)
		tp.listen(t, 8080)
		must(t, tp.box.Apply(onePool(ports256, natIP1)), "apply")
		// 2.5s covers one SYN retransmit: on a loaded machine (-race, other
		// suites) a rare first SYN went unanswered within 1s.
		ok, failed := tp.sequential(t, dst, 400, 0, 2500*time.Millisecond)
		if ok != 400 {
			t.Errorf("plain NAT: %d ok, %d failed of 400 sequential; want all ok", ok, failed)
		}
		m := tp.metrics(t)
		t.Logf("plain: insert_failed=%d drop=%d early_drop=%d entries=%d", m.InsertFailed, m.Drop, m.EarlyDrop, m.ConntrackEntries)
		if m.HeldPorts != 0 {
			t.Errorf("plain NAT holds %d ports, want 0", m.HeldPorts)
		}
	})
	t.Run("hold 120s", func(t *testing.T) {
		tp := newTopo(t)
		tp.listen(t, 8080)
		cfg := onePool(ports256, natIP1)
		cfg.Hold = 120 * time.Second
		must(t, tp.box.Apply(cfg), "apply")
		// A dropped SYN shows as a timeout; the LAN RTT is microseconds,
		// so 100ms keeps the 144 expected failures short.
		ok, failed := tp.sequential(t, dst, 400, 0, 100*time.Millisecond)
		if ok > 256 || failed == 0 {
			t.Errorf("hold 120s: %d ok, %d failed of 400; want at most 256 ok and some failures", ok, failed)
		}
		m := tp.metrics(t)
		if m.HeldPorts < 250 || m.HeldPorts > 256 {
			t.Errorf("held ports %d, want about 256", m.HeldPorts)
		}
		if u := m.IPUtilization[natIP1.String()]; u < 0.97 {
			t.Errorf("utilization with held ports %v, want about 1", u)
		}
		// A managed NAT reports a SYN it could not give a port as an
		// allocation failure, though conntrack never saw it fail.
		// (A few SYNs can also fail in conntrack, which counts them.)
		if m.PolicyDrops == 0 || m.AllocationFailures < uint64(failed) {
			t.Errorf("policy drops %d, allocation failures %d; want drops and at least the %d failed connects", m.PolicyDrops, m.AllocationFailures, failed)
		}
		// A live re-apply replaces the rules and their counters; the
		// count must not go backwards.
		must(t, tp.box.Apply(cfg), "re-apply")
		if again := tp.metrics(t); again.PolicyDrops < m.PolicyDrops {
			t.Errorf("policy drops went from %d to %d across a re-apply", m.PolicyDrops, again.PolicyDrops)
		}
		t.Logf("hold 120s: %d ok, %d failed, %d held, %d policy drops", ok, failed, m.HeldPorts, m.PolicyDrops)
	})
	t.Run("hold 1s", func(t *testing.T) {
		tp := newTopo(t)
		tp.listen(t, 8080)
		cfg := onePool(ports256, natIP1)
		cfg.Hold = time.Second
		must(t, tp.box.Apply(cfg), "apply")
		ok, failed := tp.sequential(t, dst, 400, 10*time.Millisecond, time.Second)
		if ok != 400 {
			t.Errorf("hold 1s at 100/s: %d ok, %d failed of 400; want all ok", ok, failed)
		}
		m := tp.metrics(t)
		if m.HeldPorts == 0 || m.HeldPorts > 200 {
			t.Errorf("held ports %d, want some but well under 256", m.HeldPorts)
		}
		t.Logf("hold 1s: %d held at the end", m.HeldPorts)
	})
}
