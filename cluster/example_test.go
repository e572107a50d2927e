package cluster_test

import (
	"fmt"
	"os"
	"time"

	"github.com/cloister-rt/cloister/cluster"
	"github.com/cloister-rt/cloister/cluster/wire"
)

// printer is a wire.Handler that passes on what it receives.
type printer struct{ got chan string }

func (p printer) Deliver(peer string, f *wire.Frame) {
	p.got <- fmt.Sprintf("from %s: %s", peer, f.Env.Data)
}
func (p printer) PeerUp(peer string, _ uint64)   { p.got <- "up: " + peer }
func (p printer) PeerDown(peer string, _ uint64) { p.got <- "down: " + peer }

// Two nodes on one machine, with an embedded NATS server and mutual TLS.
func Example() {
	dir, _ := os.MkdirTemp("", "cloister-certs")
	defer os.RemoveAll(dir)
	certs, err := cluster.WriteDevCerts(dir, []string{"a", "b"})
	if err != nil {
		panic(err)
	}
	srv, err := cluster.StartDevServer(cluster.ServerOptions{
		Nodes: []string{"a", "b"}, CertFile: certs.ServerCert, KeyFile: certs.ServerKey, CAFile: certs.CAFile,
	})
	if err != nil {
		panic(err)
	}
	defer srv.Shutdown()

	dial := func(name string, h wire.Handler) *cluster.Transport {
		cert, key, _ := certs.Node(name)
		t, err := cluster.Dial(cluster.Config{Name: name, URLs: []string{srv.URL()},
			CertFile: cert, KeyFile: key, CAFile: certs.CAFile, DeadAfter: time.Minute})
		if err != nil {
			panic(err)
		}
		if err := t.Start(h); err != nil {
			panic(err)
		}
		return t
	}
	b := printer{got: make(chan string, 16)}
	tb := dial("b", b)
	a := printer{got: make(chan string, 16)}
	ta := dial("a", a)

	fmt.Println(<-b.got) // b sees a come up
	fmt.Println(<-a.got) // and a sees b
	err = ta.Send("b", &wire.Frame{Kind: wire.KindSend, To: wire.Ref{Node: "b", Path: "root/worker", Rights: 1},
		From: "root/client", Env: &wire.Envelope{Data: []byte("hello")}})
	if err != nil {
		panic(err)
	}
	fmt.Println(<-b.got)
	ta.Close() // a leaves: b loses it at once
	fmt.Println(<-b.got)
	tb.Close()
	// Output:
	// up: a
	// up: b
	// from a: hello
	// down: a
}
