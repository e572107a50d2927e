package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/gateway"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/supervisor"

	"github.com/coder/websocket"
)

const roomJS = `
let closes = 0, lastClose = "";
export async function fetch(req, ctx) {
	const action = new URL(req.url).pathname.split("/").pop();
	if (action === "ws") {
		let ws;
		try {
			ws = ctx.acceptWebSocket(req, ["member"]);
		} catch (e) {
			return new Response(e.name, {status: 503});
		}
		ws.send("welcome " + ctx.getWebSockets("member").length);
		return new Response(null, {status: 101, webSocket: ws});
	}
	if (action === "closes") return new Response(closes + " " + lastClose);
	if (action === "plain") {
		try { ctx.acceptWebSocket(req); return new Response("accepted"); } catch (e) { return new Response(e.name); }
	}
	return new Response("?", {status: 404});
}
export function webSocketMessage(ws, data, ctx) {
	if (data === "crash") throw new Error("boom");
	if (data === "count") { ws.send(String(ctx.getWebSockets().length)); return; }
	if (data === "flood") { const s = "x".repeat(32000); for (let i = 0; i < 2000; i++) ws.send(s); return; }
	if (data === "bye") { ws.close(4000, "asked to"); return; }
	if (typeof data !== "string") { ws.send(data); return; }
	for (const s of ctx.getWebSockets("member")) s.send(data);
}
export function webSocketClose(ws, code, reason, ctx) {
	closes++;
	lastClose = code + ":" + reason;
}
`

type wsFixture struct {
	node *actor.Node
	gw   *gateway.Gateway
	base string
}

func startRooms(t *testing.T) *wsFixture {
	t.Helper()
	return startRoomsWith(t, gateway.Route{Pattern: "/rooms/{room}/", Grant: "rooms", Key: "room", MaxSockets: 3, MaxFrame: 1024},
		actor.ChildSpec{Script: compile(t, "room.js", roomJS)})
}

// startRoomsWith starts a gateway with route to a template "rooms" whose
// children are template, on a node of its own.
func startRoomsWith(t *testing.T, route gateway.Route, template actor.ChildSpec) *wsFixture {
	t.Helper()
	gw, err := gateway.New(gateway.Config{Addr: "127.0.0.1:0", Routes: []gateway.Route{route}})
	if err != nil {
		t.Fatal(err)
	}
	one := supervisor.NewOneForOne(100, time.Second)
	root := actor.ChildSpec{Name: "root", Strategy: one, Children: []actor.ChildSpec{
		{Name: "rooms", Strategy: one, Template: &template},
		{Name: "http", Go: gateway.ReceiverName, Grants: []actor.GrantSpec{
			{Name: "rooms", To: "rooms", Rights: capability.Send | capability.Spawn}}},
	}}
	node := startGateway(t, gw, root)
	return &wsFixture{node: node, gw: gw, base: gw.Addr().String()}
}

func (f *wsFixture) dial(t *testing.T, room string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+f.base+"/rooms/"+room+"/ws", nil)
	if err != nil {
		t.Fatalf("dial %s: %v", room, err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

func read(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

func send(t *testing.T, c *websocket.Conn, s string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 512)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

func TestWebSocketBroadcastAndRestart(t *testing.T) {
	f := startRooms(t)
	a := f.dial(t, "lobby")
	if got := read(t, a); got != "welcome 1" {
		t.Fatalf("a: %q", got)
	}
	b := f.dial(t, "lobby")
	if got := read(t, b); got != "welcome 2" {
		t.Fatalf("b: %q", got)
	}
	send(t, a, "hello all")
	if got := read(t, a); got != "hello all" {
		t.Fatalf("a got %q", got)
	}
	if got := read(t, b); got != "hello all" {
		t.Fatalf("b got %q", got)
	}
	// Binary frames come back as bytes.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if typ, data, err := a.Read(ctx); err != nil || typ != websocket.MessageBinary || string(data) != "\x01\x02\x03" {
		t.Fatalf("binary echo: %v %v %v", typ, data, err)
	}

	// A crash restarts the room; the sockets are the host's and survive.
	p, _ := f.node.Lookup("rooms/lobby")
	send(t, a, "crash")
	testkit.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if p.Restarts() < 1 || p.Status() != actor.StatusRunning {
			return fmt.Errorf("restarts %d, %s", p.Restarts(), p.Status())
		}
		return nil
	})
	send(t, b, "count")
	if got := read(t, b); got != "2" {
		t.Fatalf("sockets after the restart: %q", got)
	}
	send(t, b, "after the restart")
	if got := read(t, a); got != "after the restart" {
		t.Fatalf("a after the restart: %q", got)
	}
	if got := read(t, b); got != "after the restart" {
		t.Fatalf("b after the restart: %q", got)
	}

	// A client's close reaches the script as webSocketClose.
	if err := a.Close(websocket.StatusNormalClosure, "leaving"); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if got := get(t, "http://"+f.base+"/rooms/lobby/closes"); got != "1 1000:leaving" {
			return fmt.Errorf("closes %q", got)
		}
		return nil
	})
	if p.Sockets() != 1 {
		t.Fatalf("%d sockets held", p.Sockets())
	}
	// The script closes one.
	send(t, b, "bye")
	_, _, err := b.Read(ctx)
	if websocket.CloseStatus(err) != 4000 {
		t.Fatalf("closed by the script: %v", err)
	}
	testkit.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if n := p.Sockets(); n != 0 {
			return fmt.Errorf("%d sockets held", n)
		}
		return nil
	})
}

func TestWebSocketLimits(t *testing.T) {
	f := startRooms(t)
	// Three sockets per actor; the fourth is refused by acceptWebSocket.
	for range 3 {
		c := f.dial(t, "full")
		read(t, c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, res, err := websocket.Dial(ctx, "ws://"+f.base+"/rooms/full/ws", nil)
	if err == nil || res == nil || res.StatusCode != 503 {
		t.Fatalf("a fourth socket: %v %v", err, res)
	}
	// acceptWebSocket refuses a request that is not an upgrade.
	if got := get(t, "http://"+f.base+"/rooms/other/plain"); got != "TypeError" {
		t.Fatalf("accept without an upgrade: %q", got)
	}

	// A frame over the limit closes the connection with 1009.
	c := f.dial(t, "frames")
	read(t, c)
	if err := c.Write(ctx, websocket.MessageText, []byte(strings.Repeat("y", 4096))); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("an oversized frame: %v", err)
	}

	// A client that does not read: its queue overflows and it is closed,
	// while the room and its other sockets go on.
	slow := f.dial(t, "slow")
	read(t, slow)
	fast := f.dial(t, "slow")
	read(t, fast)
	// One flood turn fills the loopback's buffers and the 1 MiB queue
	// within its 50 ms of CPU on a quiet machine; under the race detector
	// on a loaded one it can end at its CPU limit first, with the socket
	// still open (nothing is lost: the queue is bounded and the client
	// does not read). So the client floods again, in a new turn, until
	// its socket is closed.
	send(t, slow, "flood")
	p, _ := f.node.Lookup("rooms/slow")
	floods, last := 1, time.Now()
	testkit.CheckFor(t, 60*time.Second, 5*time.Millisecond, func() error {
		n := p.Sockets()
		if n == 1 {
			return nil
		}
		if n == 2 && floods < 50 && time.Since(last) > 500*time.Millisecond {
			send(t, slow, "flood") // only paces the floods; nothing is timed
			floods, last = floods+1, time.Now()
		}
		return fmt.Errorf("%d sockets held after %d floods", n, floods)
	})
	received := 0
	for {
		_, _, err := slow.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) && ce.Code != websocket.StatusTryAgainLater {
				t.Fatalf("the slow client was closed with %v", ce.Code)
			}
			break
		}
		received++
	}
	if received >= 2000 {
		t.Fatalf("the slow client got all %d frames", received)
	}
	send(t, fast, "count")
	if got := read(t, fast); got != "1" {
		t.Fatalf("the other socket: %q", got)
	}
}

func TestWebSocketsClosedOnShutdown(t *testing.T) {
	f := startRooms(t)
	c := f.dial(t, "bye")
	read(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := make(chan error, 1)
	go func() {
		_, _, err := c.Read(ctx) // a client that answers the close
		got <- err
	}()
	if err := f.node.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-got; websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("on shutdown: %v", err)
	}
}
