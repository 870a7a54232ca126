package natbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/ti-mo/conntrack"
	"golang.org/x/sys/unix"

	"github.com/natlab/natlab/testbed/natcfg"
)

// awsProfile is AWS's public NAT gateway (docs/nat-profiles.md says which
// public documentation each behaviour follows). In the kernel:
//
//   - each new flow is given a NAT IP in turn (numgen inc over the NAT
//     IPs), carried in the packet mark from the forward chain to the one
//     SNAT rule, which translates to that IP over the pool's ports;
//   - before NAT, the flow is counted with `ct count` per NAT IP .
//     protocol . destination . port, and one over the cap (or over the
//     ports, when the range is smaller) is dropped: ErrorPortAllocation
//     once per client 5-tuple (a set remembers the ones refused), every
//     packet into PacketsDropCount; the client sees a connect timeout;
//   - an established TCP connection's conntrack entry lives a margin
//     longer than idle_timeout_sec; the control loop finds the ones idle
//     for longer from their remaining timeout, puts their 4-tuple in a
//     set whose forward rule answers the client with `reject with tcp
//     reset`, deletes the entry, and sends each side a bare ACK out of
//     window (untracked); each side answers with a duplicate ACK that is
//     answered with an RST carrying exactly the sequence number it
//     expects: the client's by the reject rule, the backend's by the NAT
//     box's own TCP (no socket has the NAT port). IdleTimeoutCount counts
//     the connections so reset.
type awsProfile struct{}

// Names of the aws-nat-gateway profile's nftables objects.
const (
	setAWSConns       = "aws_conns"  // ct count of NAT IP . proto . dst . dport
	setAWSFailed      = "aws_failed" // client 5-tuples refused a port
	setAWSSeen        = "aws_seen"   // client 5-tuples of TCP connection attempts
	setAWSReset       = "aws_rst"    // client 4-tuples of idle-timed-out connections
	chainAWSFull      = "aws_full"
	chainAWSAttempt   = "aws_attempt"
	chainAWSOut       = "aws_out"
	counterAWSEPA     = "aws_error_port_allocation"
	counterAWSDrops   = "aws_drops"
	counterAWSIdleRST = "aws_idle_rst"
	counterAWSAttempt = "aws_attempts"
	counterAWSEstab   = "aws_established"
	awsTimeoutPre     = "aws_"
	// awsProbeMark marks the idle-timeout probes the agent sends, so
	// that conntrack leaves them alone.
	awsProbeMark = 0x4e4c5253
	// awsEstablishedBit is the ct mark bit of a connection whose SYN-ACK
	// was counted.
	awsEstablishedBit = 1
)

// awsIdleMargin is how much longer than the idle timeout an established
// entry lives in conntrack: the control loop resets the connection
// within it, conntrack expiry is only a fallback.
const awsIdleMargin = 60 * time.Second

// awsTupleLife is how long the refused and attempted 5-tuples are
// remembered: longer than a client's SYN retries (about 127 s on Linux).
const awsTupleLife = 180 * time.Second

// awsResetLife is how long an idle-timed-out connection's client tuple is
// answered with RST.
const awsResetLife = 120 * time.Second

func awsTupleSet(t *nftables.Table, name string, life time.Duration) *nftables.Set {
	key, _ := nftables.ConcatSetType(nftables.TypeIPAddr, nftables.TypeInetProto, nftables.TypeInetService, nftables.TypeIPAddr, nftables.TypeInetService)
	return &nftables.Set{Table: t, Name: name, KeyType: key, Concatenation: true, Dynamic: true,
		HasTimeout: true, Timeout: life, Size: 1 << 18}
}

func awsConnsSet(t *nftables.Table) *nftables.Set {
	key, _ := nftables.ConcatSetType(nftables.TypeIPAddr, nftables.TypeInetProto, nftables.TypeIPAddr, nftables.TypeInetService)
	return &nftables.Set{Table: t, Name: setAWSConns, KeyType: key, Concatenation: true, Dynamic: true, Size: 65535}
}

func awsResetSet(t *nftables.Table) *nftables.Set {
	key, _ := nftables.ConcatSetType(nftables.TypeIPAddr, nftables.TypeInetService, nftables.TypeIPAddr, nftables.TypeInetService)
	return &nftables.Set{Table: t, Name: setAWSReset, KeyType: key, Concatenation: true,
		HasTimeout: true, Timeout: awsResetLife}
}

func awsTCPTimeoutName(est uint32) string { return fmt.Sprintf("%stcp_est%d", awsTimeoutPre, est) }

// awsEstablishedSeconds is the ESTABLISHED timeout of the profile's flows.
func awsEstablishedSeconds(a natcfg.AWSConfig) uint32 {
	return uint32((a.IdleTimeout + awsIdleMargin + time.Second - 1) / time.Second)
}

func (awsProfile) build(c natcfg.Config, t *nftables.Table, chs map[string]*nftables.Chain) *plan {
	a := c.AWS
	pool := c.Pools[0]
	p := &plan{}
	add := func(ch *nftables.Chain, e ...expr.Any) { p.add(t, ch, e...) }
	counter := func(name string) *nftables.NamedObj {
		return &nftables.NamedObj{Table: t, Name: name, Type: nftables.ObjTypeCounter, Obj: &expr.Counter{}}
	}
	est := awsEstablishedSeconds(*a)
	idle := uint32((a.IdleTimeout + time.Second - 1) / time.Second)
	tcpPol := holdTimeout(t, awsTCPTimeoutName(est), unix.IPPROTO_TCP, map[uint16]uint32{expr.CtStateTCPESTABLISHED: est})
	udpPol := holdTimeout(t, fmt.Sprintf("%sudp%d", awsTimeoutPre, idle), unix.IPPROTO_UDP, map[uint16]uint32{
		expr.CtStateUDPUNREPLIED: idle, expr.CtStateUDPREPLIED: idle,
	})
	p.objects = append(p.objects, counter(counterAWSEPA), counter(counterAWSDrops), counter(counterAWSIdleRST),
		counter(counterAWSAttempt), counter(counterAWSEstab), tcpPol, udpPol)
	p.sets = append(p.sets,
		namedSet{set: awsConnsSet(t), keep: true},
		namedSet{set: awsTupleSet(t, setAWSFailed, awsTupleLife), keep: true},
		namedSet{set: awsTupleSet(t, setAWSSeen, awsTupleLife), keep: true},
		namedSet{set: awsResetSet(t), keep: true})

	full := &nftables.Chain{Name: chainAWSFull, Table: t}
	attempt := &nftables.Chain{Name: chainAWSAttempt, Table: t}
	accept := nftables.ChainPolicyAccept
	out := &nftables.Chain{Name: chainAWSOut, Table: t, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookOutput,
		Priority: nftables.ChainPriorityRaw, Policy: &accept}
	p.chains = append(p.chains, full, attempt, out)

	// SNAT: to the NAT IP the forward chain chose, in the mark.
	add(chs[chainPost], onlyTCPUDP()...)
	add(chs[chainPost], append(matchOif(c.WAN),
		&expr.Meta{Key: expr.MetaKeyMARK, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: make([]byte, 4)},
		&expr.Immediate{Register: reg3, Data: binaryutil.BigEndian.PutUint16(pool.Ports.First)},
		&expr.Immediate{Register: reg4, Data: binaryutil.BigEndian.PutUint16(pool.Ports.Last)},
		awsSNAT(c))...)

	// Forward, before NAT.
	add(chs[chainFwd], &expr.Counter{})
	if c.ConnLimit > 0 {
		add(chs[chainFwd], append(ctNew(),
			&expr.Connlimit{Count: uint32(c.ConnLimit), Flags: connlimitOver},
			&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop})...)
	}
	// A connection the gateway timed out idle is answered with RST.
	add(chs[chainFwd], append(append(tcpOnly(), loadClientTuple4()...),
		&expr.Lookup{SourceRegister: reg32a, SetName: setAWSReset},
		&expr.Objref{Type: unix.NFT_OBJECT_COUNTER, Name: counterAWSIdleRST},
		&expr.Reject{Type: unix.NFT_REJECT_TCP_RST})...)
	// The first SYN-ACK of a translated connection: established.
	add(chs[chainFwd], append(append([]expr.Any{
		&expr.Ct{Key: expr.CtKeyDIRECTION, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{1}},
	}, tcpFlags(tcpSYN|tcpACK, expr.CmpOpEq, tcpSYN|tcpACK)...),
		&expr.Ct{Key: expr.CtKeySTATUS, Register: reg1},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(ipsSrcNAT), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: make([]byte, 4)},
		&expr.Ct{Key: expr.CtKeyMARK, Register: reg1},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(awsEstablishedBit), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: make([]byte, 4)},
		&expr.Ct{Key: expr.CtKeyMARK, Register: reg1},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(^uint32(0)), Xor: binaryutil.NativeEndian.PutUint32(awsEstablishedBit)},
		&expr.Ct{Key: expr.CtKeyMARK, Register: reg1, SourceRegister: true},
		&expr.Objref{Type: unix.NFT_OBJECT_COUNTER, Name: counterAWSEstab})...)
	// The packet that creates a flow: a TCP attempt is counted once per
	// client 5-tuple, the flow gets its NAT IP, and is counted to its
	// destination on that IP.
	newFlow := func() []expr.Any {
		return append(append(matchOif(c.WAN), unconfirmed()...), ctNew()...)
	}
	add(chs[chainFwd], append(append(newFlow(), tcpFlags(tcpSYN|tcpACK, expr.CmpOpEq, tcpSYN)...),
		&expr.Verdict{Kind: expr.VerdictJump, Chain: chainAWSAttempt})...)
	ips := ipMap(t, pool.IPs)
	p.anonSets = append(p.anonSets, ips)
	add(chs[chainFwd], append(newFlow(),
		&expr.Numgen{Register: reg1, Modulus: uint32(len(pool.IPs)), Type: unix.NFT_NG_INCREMENTAL},
		&expr.Lookup{SourceRegister: reg1, DestRegister: reg1, IsDestRegSet: true, SetName: ips.set.Name, SetID: ips.set.ID},
		&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: reg1})...)
	add(chs[chainFwd], append(newFlow(),
		&expr.Meta{Key: expr.MetaKeyMARK, Register: reg32a},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg32b},
		&expr.Payload{DestRegister: reg32c, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Payload{DestRegister: reg32d, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Dynset{SrcRegKey: reg32a, SetName: setAWSConns, Operation: unix.NFT_DYNSET_OP_ADD,
			Exprs: []expr.Any{&expr.Connlimit{Count: uint32(c.AWSLimit()), Flags: connlimitOver}}},
		&expr.Verdict{Kind: expr.VerdictJump, Chain: chainAWSFull})...)

	// Over the cap: ErrorPortAllocation once per client 5-tuple, every
	// packet dropped.
	add(full, append(loadClientTuple5(),
		&expr.Lookup{SourceRegister: reg32a, SetName: setAWSFailed},
		&expr.Objref{Type: unix.NFT_OBJECT_COUNTER, Name: counterAWSDrops},
		&expr.Verdict{Kind: expr.VerdictDrop})...)
	add(full, append(loadClientTuple5(),
		&expr.Dynset{SrcRegKey: reg32a, SetName: setAWSFailed, Operation: unix.NFT_DYNSET_OP_ADD},
		&expr.Objref{Type: unix.NFT_OBJECT_COUNTER, Name: counterAWSEPA},
		&expr.Objref{Type: unix.NFT_OBJECT_COUNTER, Name: counterAWSDrops},
		&expr.Verdict{Kind: expr.VerdictDrop})...)
	// Attempts: once per client 5-tuple.
	add(attempt, append(loadClientTuple5(),
		&expr.Lookup{SourceRegister: reg32a, SetName: setAWSSeen},
		&expr.Verdict{Kind: expr.VerdictReturn})...)
	add(attempt, append(loadClientTuple5(),
		&expr.Dynset{SrcRegKey: reg32a, SetName: setAWSSeen, Operation: unix.NFT_DYNSET_OP_ADD},
		&expr.Objref{Type: unix.NFT_OBJECT_COUNTER, Name: counterAWSAttempt})...)

	// The agent's idle-timeout probes pass untracked (and so untranslated).
	add(out, &expr.Meta{Key: expr.MetaKeyMARK, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: binaryutil.NativeEndian.PutUint32(awsProbeMark)},
		&expr.Notrack{})

	// Idle timeouts as conntrack timeouts.
	add(chs[chainPreHld], append(ctNew(), setTimeout(unix.IPPROTO_TCP, tcpPol.Name)...)...)
	add(chs[chainPreHld], append(ctNew(), setTimeout(unix.IPPROTO_UDP, udpPol.Name)...)...)
	return p
}

// awsSNAT translates to the address in reg 1 over the ports in reg 3..4.
func awsSNAT(c natcfg.Config) expr.Any {
	return withPortSelection(&expr.NAT{Type: expr.NATTypeSourceNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: reg1,
		RegProtoMin: reg3, RegProtoMax: reg4, Specified: true}, c)
}

func tcpOnly() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{unix.IPPROTO_TCP}},
	}
}

// loadClientTuple4 loads saddr . sport . daddr . dport into reg32a..d.
func loadClientTuple4() []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: reg32a, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Payload{DestRegister: reg32b, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 2},
		&expr.Payload{DestRegister: reg32c, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Payload{DestRegister: reg32d, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
	}
}

// reg32e is the fifth 32-bit register.
const reg32e = 12

// loadClientTuple5 loads saddr . proto . sport . daddr . dport into
// reg32a..e.
func loadClientTuple5() []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: reg32a, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg32b},
		&expr.Payload{DestRegister: reg32c, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 2},
		&expr.Payload{DestRegister: reg32d, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Payload{DestRegister: reg32e, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
	}
}

// awsRun is the live part of aws-nat-gateway: the idle-timeout loop and
// the profile's metrics.
type awsRun struct {
	b     *Box
	cfg   natcfg.Config
	a     natcfg.AWSConfig
	est   uint32 // ESTABLISHED timeout, seconds
	stopc chan struct{}
	done  chan struct{}
	once  sync.Once
	// lastErr is the loop's last failure, shown in the metrics.
	lastErr string
}

func (awsProfile) start(b *Box, c natcfg.Config) running {
	r := &awsRun{b: b, cfg: c, a: *c.AWS, est: awsEstablishedSeconds(*c.AWS),
		stopc: make(chan struct{}), done: make(chan struct{})}
	if r.a.Interval == 0 {
		r.a.Interval = natcfg.DefaultAWSInterval
	}
	go r.loop()
	return r
}

func (r *awsRun) stop() {
	r.once.Do(func() { close(r.stopc) })
	<-r.done
}

func (r *awsRun) loop() {
	defer close(r.done)
	t := time.NewTicker(r.a.Interval)
	defer t.Stop()
	for {
		select {
		case <-r.stopc:
			return
		case <-t.C:
			r.b.mu.Lock()
			r.lastErr = ""
			if err := r.round(); err != nil {
				r.lastErr = err.Error()
			}
			r.b.mu.Unlock()
		}
	}
}

// tcpStateEstablished is TCP_CONNTRACK_ESTABLISHED.
const tcpStateEstablished = 3

// idle reports whether f is an established, translated TCP connection
// that carried no packet for longer than the idle timeout. Conntrack
// gives the entry's remaining time in whole seconds, rounded down, and
// every packet restarts it at r.est: more than the idle timeout has
// passed exactly when the remaining time is below r.est - idle.
func (r *awsRun) idle(f conntrack.Flow) bool {
	if f.TupleOrig.Proto.Protocol != unix.IPPROTO_TCP || f.Status.Value&conntrack.StatusSrcNAT == 0 ||
		f.ProtoInfo.TCP == nil || f.ProtoInfo.TCP.State != tcpStateEstablished {
		return false
	}
	idle := uint32((r.a.IdleTimeout + time.Second - 1) / time.Second)
	return f.Timeout < r.est-idle
}

// round times out the connections idle for longer than the idle timeout:
// their client tuples go into the reset set, their entries are deleted,
// and each side is probed so that it is answered with RST.
func (r *awsRun) round() error {
	flows, err := r.b.ct.Dump(nil)
	if err != nil {
		return fmt.Errorf("conntrack dump: %w", err)
	}
	var idle []conntrack.Flow
	for _, f := range flows {
		if r.idle(f) {
			idle = append(idle, f)
		}
	}
	if len(idle) == 0 {
		return nil
	}
	if r.b.raw < 0 {
		return fmt.Errorf("idle timeout: no raw socket: %w", r.b.rawErr)
	}
	elems := make([]nftables.SetElement, 0, len(idle))
	for _, f := range idle {
		o := f.TupleOrig
		elems = append(elems, nftables.SetElement{Key: tuple4Key(o.IP.SourceAddress, o.Proto.SourcePort, o.IP.DestinationAddress, o.Proto.DestinationPort)})
	}
	if err := r.b.nft.SetAddElements(awsResetSet(natTable()), elems); err != nil {
		return fmt.Errorf("idle timeout: %w", err)
	}
	if err := r.b.nft.Flush(); err != nil {
		return fmt.Errorf("idle timeout: %w", err)
	}
	var errs []error
	for _, f := range idle {
		if err := r.b.ct.Delete(f); err != nil {
			if !errors.Is(err, unix.ENOENT) {
				errs = append(errs, fmt.Errorf("idle timeout: delete entry: %w", err))
			}
			continue // gone already: closed, or timed out by conntrack
		}
		r.b.awsIdle++
		o, rp := f.TupleOrig, f.TupleReply
		// The backend, from the NAT IP and port; the client, from the
		// backend.
		if err := r.b.probe(rp.IP.DestinationAddress, rp.Proto.DestinationPort, o.IP.DestinationAddress, o.Proto.DestinationPort); err != nil {
			errs = append(errs, err)
		}
		if err := r.b.probe(o.IP.DestinationAddress, o.Proto.DestinationPort, o.IP.SourceAddress, o.Proto.SourcePort); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// tuple4Key is the key of a 4-tuple in a set of ipv4 . inet_service .
// ipv4 . inet_service (each field in a 4-byte slot).
func tuple4Key(src netip.Addr, sport uint16, dst netip.Addr, dport uint16) []byte {
	k := make([]byte, 16)
	s, d := src.As4(), dst.As4()
	copy(k[0:4], s[:])
	binary.BigEndian.PutUint16(k[4:6], sport)
	copy(k[8:12], d[:])
	binary.BigEndian.PutUint16(k[12:14], dport)
	return k
}

// probe sends a bare TCP ACK from src:sport to dst:dport, with a sequence
// number out of the receiver's window: the receiver answers with a
// duplicate ACK (RFC 793, 9293 3.10.7.4) that carries the sequence number
// it expects, which the RST answering it then carries. The packet is
// marked so that conntrack leaves it alone.
func (b *Box) probe(src netip.Addr, sport uint16, dst netip.Addr, dport uint16) error {
	pkt := make([]byte, 40)
	pkt[0] = 0x45
	binary.BigEndian.PutUint16(pkt[2:4], 40)
	pkt[8] = 64
	pkt[9] = unix.IPPROTO_TCP
	s, d := src.As4(), dst.As4()
	copy(pkt[12:16], s[:])
	copy(pkt[16:20], d[:])
	binary.BigEndian.PutUint16(pkt[10:12], checksum(pkt[:20], 0))
	tcp := pkt[20:]
	binary.BigEndian.PutUint16(tcp[0:2], sport)
	binary.BigEndian.PutUint16(tcp[2:4], dport)
	binary.BigEndian.PutUint32(tcp[4:8], rand.Uint32())
	tcp[12] = 5 << 4
	tcp[13] = tcpACK
	binary.BigEndian.PutUint16(tcp[14:16], 1024)
	pseudo := uint32(binary.BigEndian.Uint16(s[0:2])) + uint32(binary.BigEndian.Uint16(s[2:4])) +
		uint32(binary.BigEndian.Uint16(d[0:2])) + uint32(binary.BigEndian.Uint16(d[2:4])) + unix.IPPROTO_TCP + 20
	binary.BigEndian.PutUint16(tcp[16:18], checksum(tcp, pseudo))
	if err := unix.Sendto(b.raw, pkt, 0, &unix.SockaddrInet4{Addr: d}); err != nil {
		return fmt.Errorf("idle timeout: probe %s:%d -> %s:%d: %w", src, sport, dst, dport, err)
	}
	return nil
}

// checksum is the Internet checksum of b, starting from sum.
func checksum(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// openRaw opens the socket the idle-timeout probes are sent on; it must
// run in the box's namespace.
func openRaw() (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
	if err != nil {
		return -1, fmt.Errorf("open raw socket: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, awsProbeMark); err != nil {
		_ = unix.Close(fd)
		return -1, fmt.Errorf("raw socket mark: %w", err)
	}
	return fd, nil
}

// metrics adds the NAT gateway's CloudWatch metrics and makes utilization
// count against the cap per destination.
func (r *awsRun) metrics(flows []conntrack.Flow, _ []natPort, m *natcfg.Metrics) error {
	a := &natcfg.AWSMetrics{IdleTimeoutCount: r.b.awsIdle, ControlError: r.lastErr}
	objs, err := r.b.tableObjects()
	if err != nil {
		return err
	}
	var drops, rst uint64
	for _, o := range objs {
		c, ok := o.Obj.(*expr.Counter)
		if !ok {
			continue
		}
		switch o.Name {
		case counterAWSEPA:
			a.ErrorPortAllocation = c.Packets
		case counterAWSDrops:
			drops = c.Packets
		case counterAWSIdleRST:
			rst = c.Packets
		case counterAWSAttempt:
			a.ConnectionAttemptCount = c.Packets
		case counterAWSEstab:
			a.ConnectionEstablishedCount = c.Packets
		}
	}
	a.PacketsDropCount = drops + rst + ctDrops(*m)
	for _, f := range flows {
		if f.TupleOrig.Proto.Protocol == unix.IPPROTO_TCP && f.Status.Value&conntrack.StatusSrcNAT != 0 && !closedTCP(f.ProtoInfo.TCP) {
			a.ActiveConnectionCount++
		}
	}
	m.AWS = a
	m.PolicyDrops += drops
	m.AllocationFailures += drops
	limit := float64(r.cfg.AWSLimit())
	type dest struct {
		proto string
		dst   netip.AddrPort
	}
	perDest := map[dest]int{}
	for _, mp := range m.Mappings {
		k := mp.NATIP.String()
		if _, ok := m.IPUtilization[k]; ok && limit > 0 {
			m.IPUtilization[k] = max(m.IPUtilization[k], float64(mp.Count)/limit)
			perDest[dest{mp.Protocol, mp.Destination}] += mp.Count
		}
	}
	for _, n := range perDest {
		for name := range m.PoolUtilization {
			m.PoolUtilization[name] = max(m.PoolUtilization[name], float64(n)/(limit*float64(len(r.cfg.Pools[0].IPs))))
		}
	}
	return nil
}
