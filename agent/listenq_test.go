package agent

import "testing"

func TestTCPExt(t *testing.T) {
	raw := []byte("TcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 4 17 19\nIpExt: InNoRoutes\nIpExt: 0\n")
	v := tcpExt(raw)
	if v["ListenOverflows"] != 17 || v["ListenDrops"] != 19 || v["SyncookiesSent"] != 4 {
		t.Fatalf("tcpExt = %v", v)
	}
}

func TestListenDropsReadsThisNamespace(t *testing.T) {
	if _, _, err := listenDrops(); err != nil {
		t.Fatalf("listenDrops: %v", err)
	}
}
