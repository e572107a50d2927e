package gateway_test

import (
	"context"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/codec"
	"github.com/cloister-rt/cloister/gateway"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/supervisor"
)

// reuseJS accepts the upgrade of /take and answers a later /reuse with
// the socket /take accepted: one socket offered to two connections.
const reuseJS = `
let held;
export function fetch(req, ctx) {
	if (req.url.endsWith("/take")) held = ctx.acceptWebSocket(req);
	return new Response(null, {status: 101, webSocket: held});
}
`

// TestSockets_OneSocketIsClaimedByOneUpgrade: two fetch answers naming the
// same accepted socket, both before either upgrade attached it, give it to
// the first upgrade only; the second finds none (and answers 500). Before,
// both got it and one socket had two connections.
func TestSockets_OneSocketIsClaimedByOneUpgrade(t *testing.T) {
	gw, err := gateway.New(gateway.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(100, time.Second), Children: []actor.ChildSpec{
		{Name: "ws", Script: compile(t, "reuse.js", reuseJS)},
	}}
	node := startGateway(t, gw, root)
	to, err := node.Capability("ws", capability.Send)
	if err != nil {
		t.Fatal(err)
	}
	upgrade := func(path string) uint64 {
		t.Helper()
		env, err := codec.Encode(isolate.HTTPRequest{Method: "GET", URL: "http://x" + path, Sockets: 4, Headers: [][2]string{{"Upgrade", "websocket"}}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ans, err := node.Fetch(ctx, to, env)
		if err != nil {
			t.Fatal(err)
		}
		var res isolate.HTTPResponse
		if err := msgpack.Unmarshal(ans.Data(), &res); err != nil {
			t.Fatal(err)
		}
		if res.Status != 101 || res.WS == 0 {
			t.Fatalf("%s answered %d with socket %d, want 101 with one", path, res.Status, res.WS)
		}
		return res.WS
	}
	first, second := upgrade("/take"), upgrade("/reuse")
	if first != second {
		t.Fatalf("the two answers name sockets %d and %d, want the same one", first, second)
	}
	// What the gateway's two upgrades do next, neither attached yet.
	if actor.PendingSocket(to, first) == nil {
		t.Fatal("the first upgrade found no socket")
	}
	if s := actor.PendingSocket(to, second); s != nil {
		t.Fatal("the second upgrade got the socket the first one had claimed")
	}
}
