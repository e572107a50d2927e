package cluster

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/cluster/wire"
	"github.com/cloister-rt/cloister/internal/testkit"
)

// wait bounds every poll of these tests; it is never an assertion about
// speed.
const wait = 30 * time.Second

// event is a PeerUp or PeerDown a recorder saw.
type event struct {
	up   bool
	peer string
	inc  uint64
}

func (e event) String() string {
	if e.up {
		return fmt.Sprintf("up %s %x", e.peer, e.inc)
	}
	return fmt.Sprintf("down %s %x", e.peer, e.inc)
}

// recorder is a wire.Handler that records what the transport hands it
// and notices overlapping calls.
type recorder struct {
	mu      sync.Mutex
	events  []event
	frames  map[string][]*wire.Frame
	inCall  atomic.Bool
	overlap atomic.Int64
	block   chan struct{} // if set, Deliver waits for it to close
}

func newRecorder() *recorder { return &recorder{frames: make(map[string][]*wire.Frame)} }

func (r *recorder) enter() func() {
	if r.inCall.Swap(true) {
		r.overlap.Add(1)
	}
	return func() { r.inCall.Store(false) }
}

func (r *recorder) Deliver(peer string, f *wire.Frame) {
	defer r.enter()()
	r.mu.Lock()
	block := r.block
	r.mu.Unlock()
	if block != nil {
		<-block
	}
	r.mu.Lock()
	r.frames[peer] = append(r.frames[peer], f)
	r.mu.Unlock()
}

func (r *recorder) PeerUp(peer string, inc uint64) {
	defer r.enter()()
	r.mu.Lock()
	r.events = append(r.events, event{true, peer, inc})
	r.mu.Unlock()
}

func (r *recorder) PeerDown(peer string, inc uint64) {
	defer r.enter()()
	r.mu.Lock()
	r.events = append(r.events, event{false, peer, inc})
	r.mu.Unlock()
}

func (r *recorder) received(peer string) []*wire.Frame {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*wire.Frame(nil), r.frames[peer]...)
}

func (r *recorder) eventList() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event(nil), r.events...)
}

// hasEvent reports whether e was recorded.
func (r *recorder) hasEvent(e event) bool {
	for _, got := range r.eventList() {
		if got == e {
			return true
		}
	}
	return false
}

// testCluster is an embedded NATS server with mTLS and the dev
// certificates of its nodes.
type testCluster struct {
	t     *testing.T
	srv   *DevServer
	certs *DevCerts
	nodes []string
}

func newTestCluster(t *testing.T, nodes ...string) *testCluster {
	t.Helper()
	certs, err := WriteDevCerts(t.TempDir(), nodes)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := StartDevServer(ServerOptions{Nodes: nodes, CertFile: certs.ServerCert, KeyFile: certs.ServerKey, CAFile: certs.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return &testCluster{t: t, srv: srv, certs: certs, nodes: nodes}
}

// config returns the Config of node name, with cfg's tuning.
func (c *testCluster) config(name string, tune Config) Config {
	cert, key, ok := c.certs.Node(name)
	if !ok {
		c.t.Fatalf("no certificate for %q", name)
	}
	tune.Name, tune.URLs = name, []string{c.srv.URL()}
	tune.CertFile, tune.KeyFile, tune.CAFile = cert, key, c.certs.CAFile
	return tune
}

// start dials and starts node name with a new recorder.
func (c *testCluster) start(name string, tune Config) (*Transport, *recorder) {
	c.t.Helper()
	tr, err := Dial(c.config(name, tune))
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { _ = tr.Close() })
	rec := newRecorder()
	if err := tr.Start(rec); err != nil {
		c.t.Fatal(err)
	}
	return tr, rec
}

// waitUp waits until every transport sees every other one up.
func waitUp(t *testing.T, ts ...*Transport) {
	t.Helper()
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		for _, a := range ts {
			for _, b := range ts {
				if a == b {
					continue
				}
				if inc, up := a.Peer(b.Self()); !up || inc != b.Incarnation() {
					return fmt.Errorf("%s does not see %s up", a.Self(), b.Self())
				}
			}
		}
		return nil
	})
}

// slow is the tuning of tests that must not lose a peer to a loaded
// machine: only a leaving heartbeat or a new incarnation loses one.
var slow = Config{DeadAfter: time.Hour}
