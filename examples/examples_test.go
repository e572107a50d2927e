// Package examples_test runs every example manifest and checks that it does
// what its comments say.
package examples_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/manifest"
)

func checkFor(t *testing.T, timeout, interval time.Duration, f func() error) {
	t.Helper()
	testkit.CheckFor(t, timeout, interval, f)
}

func run(t *testing.T, path string) *actor.Node {
	t.Helper()
	app, err := manifest.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := actor.NewNode(app.Options())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(app.Root); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		if err := n.Wait(); err != nil {
			t.Errorf("node ended with %v", err)
		}
	})
	return n
}

func call(t *testing.T, n *actor.Node, path string, msg any, out any) {
	t.Helper()
	c, err := n.Capability(path, capability.Send)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.Call(ctx, c, msg, out); err != nil {
		t.Fatalf("call %s: %v", path, err)
	}
}

func TestCounter(t *testing.T) {
	n := run(t, "counter/app.yaml")
	// The client adds 2 every 500 ms to a counter that starts at 10.
	checkFor(t, 5*time.Second, 50*time.Millisecond, func() error {
		var v int
		call(t, n, "counter", map[string]any{"type": "get"}, &v)
		if v < 12 || v%2 != 0 {
			return fmt.Errorf("counter is %d, want an even number of at least 12", v)
		}
		return nil
	})
	var v int
	call(t, n, "counter", map[string]any{"type": "inc", "by": 1}, &v)
	if v%2 != 1 {
		t.Fatalf("after inc by 1 the counter is %d, want odd", v)
	}
}

func TestPingPong(t *testing.T) {
	n := run(t, "pingpong/app.yaml")
	ping, _ := n.Lookup("ping")
	pong, _ := n.Lookup("pong")
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if ping.Handled() < 100 || pong.Handled() < 100 {
			return fmt.Errorf("ping handled %d, pong %d: the rally is not going", ping.Handled(), pong.Handled())
		}
		return nil
	})
	if len(ping.Crashes())+len(pong.Crashes()) != 0 {
		t.Fatalf("crashes: %v %v", ping.Crashes(), pong.Crashes())
	}
}

func TestChat(t *testing.T) {
	n := run(t, "chat/app.yaml")
	heardFrom := func(member string) map[string]bool {
		var heard []map[string]any
		call(t, n, member, map[string]any{"type": "heard"}, &heard)
		said := map[string]bool{}
		for _, h := range heard {
			if h["type"] == "said" {
				said[h["nick"].(string)] = true
			}
		}
		return said
	}
	// Members join from their async init, so the order in which they join
	// and greet is not fixed: wait until all three are in the room.
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		var nicks []string
		call(t, n, "room", map[string]any{"type": "members"}, &nicks)
		if len(nicks) != 3 {
			return fmt.Errorf("room has %v, want alice, bob and carol", nicks)
		}
		return nil
	})
	var members int
	call(t, n, "room", map[string]any{"type": "say", "nick": "operator", "text": "hi all"}, &members)
	if members != 3 {
		t.Fatalf("room has %d members, want 3", members)
	}
	for _, m := range []string{"alice", "bob", "carol"} {
		checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
			if got := heardFrom(m); !got["operator"] || !got[m] {
				return fmt.Errorf("%s heard from %v, want itself and the operator", m, got)
			}
			return nil
		})
	}
}

func TestPool(t *testing.T) {
	n := run(t, "pool/app.yaml")
	var count int
	call(t, n, "boss", map[string]any{"type": "run", "jobs": []int{2, 3, 13, 4}}, &count)
	if count != 4 {
		t.Fatalf("boss finished %d jobs, want 4", count)
	}
	var report struct {
		Results []struct {
			Job    int    `msgpack:"job"`
			Square int    `msgpack:"square"`
			Error  string `msgpack:"error"`
		} `msgpack:"results"`
		Endings map[string]int `msgpack:"endings"`
	}
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		call(t, n, "boss", map[string]any{"type": "report"}, &report)
		if report.Endings["normal"] != 3 || report.Endings["error"] != 1 {
			return fmt.Errorf("endings %v, want 3 normal and 1 error", report.Endings)
		}
		return nil
	})
	want := []string{"0:4:", "1:9:", "2:0:CallError", "3:16:"}
	for i, r := range report.Results {
		if got := fmt.Sprintf("%d:%d:%s", r.Job, r.Square, r.Error); got != want[i] {
			t.Errorf("result %d = %s, want %s", i, got, want[i])
		}
	}
	// Temporary workers are gone once they end.
	pool, _ := n.Lookup("pool")
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if k := len(pool.Children()); k != 0 {
			return fmt.Errorf("pool still has %d children", k)
		}
		return nil
	})
}
