package cluster

import (
	"errors"
	"runtime"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/cluster/wire"
)

// counter is a handler that counts frames and signals when it has seen
// want of them, or (echo) sends every frame back to its sender.
type counter struct {
	t    *Transport
	n    atomic.Int64
	want int64
	done chan struct{}
	echo bool
}

func (c *counter) Deliver(peer string, f *wire.Frame) {
	if c.echo {
		_ = c.t.Send(peer, f)
		return
	}
	if c.n.Add(1) == c.want {
		close(c.done)
	}
}
func (c *counter) PeerUp(string, uint64)   {}
func (c *counter) PeerDown(string, uint64) {}

// benchPair starts a server (with mTLS if tls) and two started
// transports, a and b, whose handlers are ha and hb.
func benchPair(b *testing.B, tls bool, ha, hb wire.Handler) (*Transport, *Transport) {
	b.Helper()
	opts := ServerOptions{Nodes: []string{"a", "b"}}
	var certs *DevCerts
	if tls {
		var err error
		if certs, err = WriteDevCerts(b.TempDir(), opts.Nodes); err != nil {
			b.Fatal(err)
		}
		opts.CertFile, opts.KeyFile, opts.CAFile = certs.ServerCert, certs.ServerKey, certs.CAFile
	}
	srv, err := StartDevServer(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Shutdown)
	var ts []*Transport
	for _, h := range []struct {
		name string
		h    wire.Handler
	}{{"a", ha}, {"b", hb}} {
		cfg := Config{Name: h.name, URLs: []string{srv.URL()}, DeadAfter: time.Hour}
		if tls {
			cfg.CertFile, cfg.KeyFile, _ = certs.Node(h.name)
			cfg.CAFile = certs.CAFile
		}
		tr, err := Dial(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = tr.Close() })
		if c, ok := h.h.(*counter); ok {
			c.t = tr
		}
		if err := tr.Start(h.h); err != nil {
			b.Fatal(err)
		}
		ts = append(ts, tr)
	}
	for {
		if _, up := ts[0].Peer("b"); up {
			if _, up := ts[1].Peer("a"); up {
				break
			}
		}
		runtime.Gosched()
	}
	return ts[0], ts[1]
}

func benchOneWay(b *testing.B, tls bool) {
	hb := &counter{done: make(chan struct{})}
	a, _ := benchPair(b, tls, &counter{}, hb)
	f := smallFrame()
	hb.want = int64(b.N)
	c0 := processCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for {
			err := a.Send("b", f)
			if err == nil {
				break
			}
			if !errors.Is(err, wire.ErrBackpressure) {
				b.Fatal(err)
			}
			runtime.Gosched()
		}
	}
	<-hb.done
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-c0)/float64(b.N), "cpu-ns/frame")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	st := a.Stats()
	b.ReportMetric(float64(st.FramesOut)/float64(max(st.BatchesOut, 1)), "frames/batch")
	b.ReportMetric(float64(st.RefusedBackpressure)/float64(b.N), "refusals/op")
	b.ReportMetric(float64(st.WindowStalls), "stalls")
}

// One-way frames per second from a to b over loopback.
func BenchmarkTransport_OneWay(b *testing.B)    { benchOneWay(b, false) }
func BenchmarkTransport_OneWayTLS(b *testing.B) { benchOneWay(b, true) }

// Round trip of a frame a→b→a through both transports.
func BenchmarkTransport_RTT(b *testing.B) {
	back := make(chan struct{}, 1)
	a, _ := benchPair(b, false, &echoHandler{back: back}, &counter{echo: true})
	rtts := make([]time.Duration, 0, b.N)
	f := smallFrame()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if err := a.Send("b", f); err != nil {
			b.Fatal(err)
		}
		<-back
		rtts = append(rtts, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, rtts)
}

type echoHandler struct{ back chan struct{} }

func (e *echoHandler) Deliver(string, *wire.Frame) { e.back <- struct{}{} }
func (e *echoHandler) PeerUp(string, uint64)       {}
func (e *echoHandler) PeerDown(string, uint64)     {}

// Raw NATS request/reply over loopback, the baseline of the above.
func BenchmarkRawNATS_RTT(b *testing.B) {
	srv, err := StartDevServer(ServerOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()
	b.ResetTimer()
	rtts, err := BenchRawRTT(srv.URL(), b.N, 64)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	reportPercentiles(b, rtts)
}

func reportPercentiles(b *testing.B, rtts []time.Duration) {
	slices.Sort(rtts)
	at := func(q float64) float64 {
		return float64(rtts[min(len(rtts)-1, int(q*float64(len(rtts))))].Microseconds())
	}
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}

func smallFrame() *wire.Frame {
	return &wire.Frame{Kind: wire.KindSend, To: wire.Ref{Node: "b", Inc: 0x1234567890abcdef, Token: wire.Token{1, 2, 3}, Rights: 1},
		From: "root/web/handler", Env: &wire.Envelope{Data: []byte{0x82, 0xa2, 'o', 'p', 0xa3, 'g', 'e', 't', 0xa2, 'i', 'd', 0x2a}}}
}

// processCPU is the CPU time the process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
