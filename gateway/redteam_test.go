package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/gateway"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/supervisor"

	"github.com/coder/websocket"
)

// Hostile tenants and hostile clients against the gateway: what a safe
// node does is answer a bare status, keep its buffers bounded, and keep
// serving everybody else.

// hostileJS is the attacker's fetch handler, by the last path segment.
const hostileJS = `
let served = 0;
export async function fetch(req, ctx) {
	served++;
	const a = new URL(req.url).pathname.split("/").pop();
	switch (a) {
	case "ping": return new Response("pong " + served);
	case "bigbody": return new Response("z".repeat(4 << 20));
	case "manyheaders": {
		const h = new Headers();
		for (let i = 0; i < 100000; i++) h.append("x-h" + i, "v");
		return new Response("x", {headers: h});
	}
	case "dupheaders": {
		const h = new Headers();
		for (let i = 0; i < 100000; i++) h.append("x-dup", "v");
		return new Response("x", {headers: h});
	}
	case "hop": return new Response("x", {headers: {"content-length": "999", "transfer-encoding": "chunked", "connection": "close", "x-ok": "1"}});
	case "unicode": return new Response("x", {headers: {"x-u": "\u00e9\u2028\u0085"}});
	case "proxy": return new Proxy(new Response("x"), {get() { throw new Error("trap at 0xc000123456"); }});
	case "fake": return Object.create(Response.prototype);
	case "thenable": return {then(res) { res(new Response("via thenable")); }};
	case "getterbomb": return new Response({get byteLength() { throw new Error("getter"); }});
	case "status": {
		const out = [];
		for (const s of [0, 99, 100, 101, 199, 600, 1e9, -1, NaN, "200x", 204.5]) {
			try { new Response(null, {status: s}); out.push(s + ":ok"); } catch (e) { out.push(s + ":" + e.name); }
		}
		return new Response(out.join(","));
	}
	case "badheaders": {
		const out = [];
		for (const [n, v] of [["x a", "1"], ["", "1"], ["x-\u00e9", "1"], ["x-ok", "a\rb"], ["x-ok", "a\u0000b"], ["x-ok", "a\nb"], ["x-ok", "\u0100"]]) {
			try { new Headers([[n, v]]); out.push("ok"); } catch (e) { out.push(e.name); }
		}
		return new Response(out.join(","));
	}
	case "hang": return new Promise(() => {});
	case "abortaccept": {
		const ws = ctx.acceptWebSocket(req);
		await new Promise(r => req.signal.addEventListener("abort", r));
		return new Response(null, {status: 101, webSocket: ws});
	}
	case "len": return new Response(String((await req.arrayBuffer()).byteLength) + " " + [...req.headers].length);
	}
	return new Response("?", {status: 404});
}
`

// victimJS is another tenant's handler.
const victimJS = `
let n = 0;
export function fetch(req) { return new Response("victim " + (++n)); }
`

type redFixture struct {
	node *actor.Node
	gw   *gateway.Gateway
	base string
	c    *http.Client
}

func startRed(t *testing.T, cfg gateway.Config, hostile actor.ChildSpec) *redFixture {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	cfg.Routes = append(cfg.Routes,
		gateway.Route{Pattern: "/h/", Grant: "hostile", Timeout: 2 * time.Second, MaxSockets: 4},
		gateway.Route{Pattern: "/v/", Grant: "victim"},
	)
	gw, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hostile.Name = "hostile"
	if hostile.Script == nil {
		hostile.Script = compile(t, "hostile.js", hostileJS)
	}
	one := supervisor.NewOneForOne(1000, time.Second)
	root := actor.ChildSpec{Name: "root", Strategy: one, Children: []actor.ChildSpec{
		hostile,
		{Name: "victim", Script: compile(t, "victim.js", victimJS)},
		{Name: "http", Go: gateway.ReceiverName, Grants: []actor.GrantSpec{
			{Name: "hostile", To: "hostile", Rights: capability.Send},
			{Name: "victim", To: "victim", Rights: capability.Send},
		}},
	}}
	node := startGateway(t, gw, root)
	return &redFixture{node: node, gw: gw, base: "http://" + gw.Addr().String(), c: &http.Client{Timeout: 30 * time.Second}}
}

func (f *redFixture) get(t *testing.T, path string) (int, http.Header, string) {
	t.Helper()
	res, err := f.c.Get(f.base + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

func (f *redFixture) victimServes(t *testing.T) {
	t.Helper()
	if st, _, body := f.get(t, "/v/x"); st != 200 || !strings.HasPrefix(body, "victim ") {
		t.Fatalf("the victim answered %d %q", st, body)
	}
}

// leaky matches what an answer must never show a client: Go addresses,
// stacks, host paths, the script's own error text.
var leaky = regexp.MustCompile(`0x[0-9a-f]{6,}|goroutine|\.go:\d|/work/|trap|getter|Error:`)

// TestRedteam_HostileResponses: answers a tenant builds to hurt the
// gateway get a bare status (or are cleaned), the tenant keeps running,
// and the neighbour is served.
func TestRedteam_HostileResponses(t *testing.T) {
	f := startRed(t, gateway.Config{}, actor.ChildSpec{})
	cases := []struct {
		path   string
		status int
	}{
		{"/h/bigbody", 500},     // over message_bytes (1 MiB) encoded
		{"/h/manyheaders", 500}, // 100k headers, over message_bytes
		{"/h/dupheaders", 500},
		{"/h/proxy", 500},
		{"/h/fake", 500},
	}
	for _, c := range cases {
		st, hdr, body := f.get(t, c.path)
		if st != c.status {
			t.Errorf("%s: %d %q, want %d", c.path, st, body, c.status)
		}
		if leaky.MatchString(body) || len(hdr) > 10 {
			t.Errorf("%s: the client saw %d headers and %q", c.path, len(hdr), body)
		}
		f.victimServes(t)
	}
	st, hdr, body := f.get(t, "/h/hop")
	if st != 200 || body != "x" || hdr.Get("X-Ok") != "1" || hdr.Get("Transfer-Encoding") != "" || hdr.Get("Content-Length") != "1" {
		t.Errorf("hop-by-hop headers from the script: %d %q %v", st, body, hdr)
	}
	if st, _, body := f.get(t, "/h/thenable"); st != 200 || body != "via thenable" {
		t.Errorf("a thenable: %d %q", st, body)
	}
	// A value above U+00FF is not a ByteString; it is sent as UTF-8, which
	// cannot split a header, so it is not asserted here.
	if st, _, body := f.get(t, "/h/badheaders"); st != 200 || !strings.HasPrefix(body, "TypeError,TypeError,TypeError,TypeError,TypeError,TypeError,") {
		t.Errorf("bad header names and values must throw TypeError each: %d %q", st, body)
	}
	if st, _, body := f.get(t, "/h/getterbomb"); st != 200 || body != "[object Object]" {
		t.Errorf("a body object is stringified, its getters untouched: %d %q", st, body)
	}
	st, _, body = f.get(t, "/h/status")
	if st != 200 {
		t.Fatalf("status probe: %d %q", st, body)
	}
	for _, part := range strings.Split(body, ",") {
		if strings.HasSuffix(part, ":ok") && !strings.HasPrefix(part, "200x") {
			s := strings.TrimSuffix(part, ":ok")
			var n float64
			if _, err := fmt.Sscan(s, &n); err != nil || n < 200 || n > 599 {
				t.Errorf("new Response with status %s was accepted (%s)", s, body)
			}
		}
	}
	// U+2028 is above U+00FF: Headers throws (a header value is bytes),
	// so the script's fetch fails and the client gets 500.
	if st, _, body := f.get(t, "/h/unicode"); st != 500 {
		t.Errorf("a header value above U+00FF: %d %q, want 500", st, body)
	}
	st, _, body = f.get(t, "/h/ping")
	if st != 200 || !strings.HasPrefix(body, "pong ") {
		t.Fatalf("the attacker no longer answers: %d %q", st, body)
	}
	// Only the attacker's own faults crash it: the two 100k-header loops
	// run out of CPU, the Proxy's trap throws, and so does Headers for a
	// value above U+00FF. A fake Response is
	// answered 500 and the actor keeps running, as the docs say.
	p, _ := f.node.Lookup("hostile")
	var reasons []string
	for _, c := range p.Crashes() {
		if c.Reason != "cpu_limit" { // the loops may also finish, then answer 500 for message_bytes
			reasons = append(reasons, c.Reason+": "+c.Err.Error())
		}
	}
	want := []string{
		"error: unhandled rejection: Error: trap at 0xc000123456",
		`error: unhandled rejection: TypeError: invalid value of header "x-u": a character above U+00FF is not allowed (header values are bytes)`,
	}
	if strings.Join(reasons, "|") != strings.Join(want, "|") {
		t.Errorf("the attacker's crashes: %q, want %q", reasons, want)
	}
}

// TestRedteam_ClientBounds: a client sending too many headers, an endless
// body, or a body that fits max_body but not the target is answered
// without the gateway reading past its bounds.
func TestRedteam_ClientBounds(t *testing.T) {
	const maxBody = 64 << 10
	f := startRed(t, gateway.Config{MaxBody: maxBody}, actor.ChildSpec{})

	// 100k headers: 431 before any actor.
	req, _ := http.NewRequest("GET", f.base+"/h/len", nil)
	for i := 0; i < 100000; i++ {
		req.Header.Add(fmt.Sprintf("X-H%d", i), "v")
	}
	if res, err := f.c.Do(req); err == nil {
		res.Body.Close()
		if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("100k headers: %d, want 431", res.StatusCode)
		}
	}

	// An endless chunked body: 413, and the gateway stops reading.
	var sent atomic.Int64
	pr, pw := io.Pipe()
	go func() {
		chunk := make([]byte, 4096)
		for {
			n, err := pw.Write(chunk)
			sent.Add(int64(n))
			if err != nil || sent.Load() > 64<<20 {
				_ = pw.Close()
				return
			}
		}
	}()
	req, _ = http.NewRequest("POST", f.base+"/h/len", pr)
	res, err := f.c.Do(req)
	_ = pr.CloseWithError(io.ErrClosedPipe)
	if err == nil {
		res.Body.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("an endless body: %d, want 413", res.StatusCode)
		}
	}
	if n := sent.Load(); n > 64<<20 {
		t.Errorf("the gateway read the whole 64 MiB of an endless body with max_body %d", maxBody)
	}
	if p, _ := f.node.Lookup("hostile"); p.Crashes() != nil || f.served(t) != 1 {
		t.Errorf("requests refused at the gateway reached the actor")
	}
	f.victimServes(t)
}

// served asks the hostile actor how many requests reached it, this one
// included.
func (f *redFixture) served(t *testing.T) int {
	t.Helper()
	_, _, body := f.get(t, "/h/ping")
	var n int
	if _, err := fmt.Sscanf(body, "pong %d", &n); err != nil {
		t.Fatalf("ping answered %q", body)
	}
	return n
}

// TestRedteam_RequestOverTargetMessageBytes: headers within max_header_bytes
// and a body within max_body that together exceed the target's
// message_bytes are refused with 413 before the actor's turn.
func TestRedteam_RequestOverTargetMessageBytes(t *testing.T) {
	h := actor.ChildSpec{Limits: isolate.Limits{MessageBytes: 4096}}
	f := startRed(t, gateway.Config{}, h)
	req, _ := http.NewRequest("POST", f.base+"/h/len", strings.NewReader(strings.Repeat("b", 3000)))
	for i := 0; i < 200; i++ {
		req.Header.Add(fmt.Sprintf("X-H%d", i), "v")
	}
	res, err := f.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("a request over the target's message_bytes: %d, want 413", res.StatusCode)
	}
	if n := f.served(t); n != 1 {
		t.Fatalf("the actor ran %d turns, want only the ping", n)
	}
}

// TestRedteam_Slowloris: a client that never finishes its headers is cut
// off by read_header_timeout, and one that never sends its body by
// read_timeout; neither keeps the neighbour from being served.
func TestRedteam_Slowloris(t *testing.T) {
	// The timeouts also bound the neighbour's own request, whose bytes a
	// server goroutine stalled past them on a loaded machine would find
	// expired: long enough for that, short enough to keep the test quick.
	f := startRed(t, gateway.Config{ReadHeaderTimeout: 2 * time.Second, ReadTimeout: 3 * time.Second}, actor.ChildSpec{})
	addr := strings.TrimPrefix(f.base, "http://")
	cut := func(partial string) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, partial); err != nil {
			t.Fatal(err)
		}
		// A safety stop, not a margin: the server must close long before.
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, err = io.ReadAll(bufio.NewReader(c))
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("the server kept a connection open that sent %q and stopped", partial)
		}
	}
	cut("GET /h/ping HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	cut("POST /h/len HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly-a-little")
	f.victimServes(t)
	if n := f.served(t); n != 1 {
		t.Fatalf("the attacker's actor ran %d turns, want only the ping", n)
	}
}

// TestRedteam_SlowBodyHoldsInflightSlots: clients that send headers and
// then never send their body must not hold the route's max_inflight
// slots: the body is read before a slot is taken.
func TestRedteam_SlowBodyHoldsInflightSlots(t *testing.T) {
	f := startRed(t, gateway.Config{Routes: []gateway.Route{{Pattern: "/one/", Grant: "victim", MaxInflight: 2}}}, actor.ChildSpec{})
	addr := strings.TrimPrefix(f.base, "http://")
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, "POST /one/x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	// The server has taken both requests once their handlers wait on the
	// bodies; the safety stop is not a margin.
	testkit.CheckFor(t, 20*time.Second, time.Millisecond, func() error {
		if b := f.gw.Bodies(); b.Reading != 2 {
			return fmt.Errorf("%d requests are reading their bodies, want 2", b.Reading)
		}
		return nil
	})
	if st, _, body := f.get(t, "/one/x"); st != 200 {
		t.Fatalf("an honest client behind two idle-body clients got %d %q", st, body)
	}
	if b := f.gw.Bodies(); b.Reading != 2 || b.Bytes != 0 {
		t.Fatalf("two idle-body clients hold %+v, want 2 reading and no bytes", b)
	}
}

// TestRedteam_HungFetchIsContained: a fetch that never settles gets 504 at
// the route's timeout; the neighbour is unharmed.
func TestRedteam_HungFetchIsContained(t *testing.T) {
	f := startRed(t, gateway.Config{Routes: []gateway.Route{{Pattern: "/hq/", Grant: "hostile", Timeout: 200 * time.Millisecond}}}, actor.ChildSpec{})
	if st, _, _ := f.get(t, "/hq/hang"); st != http.StatusGatewayTimeout {
		t.Fatalf("a fetch that never settles: %d, want 504", st)
	}
	f.victimServes(t)
}

// TestRedteam_AcceptedSocketOfAbandonedRequest: a fetch that accepts a
// WebSocket and answers only after the client gave up must not leave the
// socket counted against max_sockets forever.
func TestRedteam_AcceptedSocketOfAbandonedRequest(t *testing.T) {
	f := startRed(t, gateway.Config{Routes: []gateway.Route{{Pattern: "/hq/", Grant: "hostile", Timeout: 200 * time.Millisecond, MaxSockets: 4}}}, actor.ChildSpec{})
	p, _ := f.node.Lookup("hostile")
	for i := 0; i < 8; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, res, err := websocket.Dial(ctx, "ws://"+strings.TrimPrefix(f.base, "http://")+"/hq/abortaccept", nil)
		cancel()
		if err == nil {
			t.Fatalf("attempt %d: an upgrade answered after its timeout succeeded", i)
		}
		if res == nil || res.StatusCode != http.StatusGatewayTimeout {
			t.Fatalf("attempt %d: %v, want 504", i, err)
		}
	}
	// Each abandoned socket is closed for the script by the time the
	// next request ran; the ping is one more turn after the last.
	f.served(t)
	if n := p.Sockets(); n != 0 {
		t.Fatalf("%d sockets of abandoned upgrades are still held", n)
	}
}

// stoppableRoomJS accepts every upgrade and stops for good on "stop".
const stoppableRoomJS = `
export function fetch(req, ctx) {
	const ws = ctx.acceptWebSocket(req);
	return new Response(null, {status: 101, webSocket: ws});
}
export function webSocketMessage(ws, data, ctx) {
	if (data === "stop") { ctx.stop(); return; }
	ws.send("echo " + data);
}
`

// TestRedteam_SocketsOfAnEndedActor: a keyed actor that ends for good is
// forgotten and the next request for its key spawns a fresh one with a
// fresh max_sockets. The ended actor's idle sockets must be closed, or a
// client repeating open-then-stop holds connections (and their goroutines)
// without bound while every live actor is within its limit.
func TestRedteam_SocketsOfAnEndedActor(t *testing.T) {
	f := startRoomsWith(t, gateway.Route{Pattern: "/rooms/{room}/", Grant: "rooms", Key: "room", MaxSockets: 2},
		actor.ChildSpec{Script: compile(t, "room.js", stoppableRoomJS), Restart: actor.Transient})
	node := f.node
	dial := func() *websocket.Conn {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, "ws://"+f.base+"/rooms/a/ws", nil)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { _ = c.CloseNow() })
		return c
	}
	idle := dial()
	stopper := dial()
	old, _ := node.Lookup("rooms/a")
	if err := stopper.Write(context.Background(), websocket.MessageText, []byte("stop")); err != nil {
		t.Fatal(err)
	}
	// The idle client sends nothing: the host must close it. (A safety
	// stop, not a margin: the close comes when the actor ends.)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := idle.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("an idle WebSocket of a keyed actor that ended for good: read %v, want a close with 1001 (the ended process holds %d sockets)", err, old.Sockets())
	}
	testkit.CheckFor(t, 10*time.Second, time.Millisecond, func() error { // the close goes out just before
		if n := old.Sockets(); n != 0 {
			return fmt.Errorf("the ended actor still holds %d sockets", n)
		}
		return nil
	})
	// The key's next actor starts afresh and serves.
	c := dial()
	if err := c.Write(context.Background(), websocket.MessageText, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	if _, b, err := c.Read(ctx2); err != nil || string(b) != "echo hi" {
		t.Fatalf("the respawned room answered %q (%v)", b, err)
	}
}

// TestRedteam_HostileHostHeader: request.url is built from the client's
// Host header. A Host that Go's server accepts but a URL parser refuses
// must not crash a tenant that does new URL(request.url), the first line
// of most handlers: a client could otherwise restart any actor at will,
// losing its state.
func TestRedteam_HostileHostHeader(t *testing.T) {
	f := startRed(t, gateway.Config{}, actor.ChildSpec{})
	addr := strings.TrimPrefix(f.base, "http://")
	for _, host := range []string{"[", "a%zz", "[::1", "a]b", "x:99999999", "%", "a:b:c", "[::1]:x", "user@h"} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fmt.Fprintf(c, "GET /h/ping HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host)
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil {
			t.Fatalf("Host %q: %v", host, err)
		}
		res.Body.Close()
		if res.StatusCode != 200 && res.StatusCode != 400 {
			t.Errorf("Host %q: %d, want 200 or 400", host, res.StatusCode)
		}
	}
	// Header bytes Go's server lets through: obs-text (not UTF-8) in a
	// value, every token character in a name, a long URL.
	for _, raw := range []string{
		"GET /h/ping HTTP/1.1\r\nHost: x\r\nX-Obs: \x80\xff\xfe\r\nConnection: close\r\n\r\n",
		"GET /h/ping HTTP/1.1\r\nHost: x\r\n!#$%&'*+-.^_`|~: v\r\nConnection: close\r\n\r\n",
		"GET /h/ping?" + strings.Repeat("q", 30000) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET /h/ping?%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(c, raw)
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil {
			t.Fatalf("%.60q: %v", raw, err)
		}
		res.Body.Close()
		if res.StatusCode != 200 && res.StatusCode != 400 && res.StatusCode != 431 {
			t.Errorf("%.60q: %d, want 200, 400 or 431", raw, res.StatusCode)
		}
	}
	p, _ := f.node.Lookup("hostile")
	if n := len(p.Crashes()); n != 0 {
		t.Fatalf("a client's request crashed the tenant %d times (%v)", n, p.Crashes()[0].Err)
	}
}

// forgerRoomJS accepts upgrades; on "forge" it forges WebSocket objects
// for every socket id up to 200 through the class's internal symbol and
// sends to and closes each, reporting how many sends did not throw.
const forgerRoomJS = `
export function fetch(req, ctx) {
	const ws = ctx.acceptWebSocket(req);
	return new Response(null, {status: 101, webSocket: ws});
}
export function webSocketMessage(ws, data, ctx) {
	if (data !== "forge") { ws.send("own " + data); return; }
	const S = Object.getOwnPropertySymbols(ws)[0];
	const mine = ws[S].id;
	let sent = 0;
	for (let id = 1; id <= 200; id++) {
		if (id === mine) continue;
		const f = new ws.constructor(S, id, ["x"]);
		try { f.send("pwned " + id); sent++; } catch (e) {}
		try { f.close(4000, "pwned"); } catch (e) {}
	}
	ws.send("forged " + sent);
}
`

// TestRedteam_ForgedSocketIDs: socket ids are sequential node-wide and the
// WebSocket class's internal state is reachable by its symbol, so a script
// can name any id; the host must only act on its own process's sockets.
func TestRedteam_ForgedSocketIDs(t *testing.T) {
	f := startRoomsWith(t, gateway.Route{Pattern: "/rooms/{room}/", Grant: "rooms", Key: "room"},
		actor.ChildSpec{Script: compile(t, "forger.js", forgerRoomJS)})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dial := func(room string) *websocket.Conn {
		c, _, err := websocket.Dial(ctx, "ws://"+f.base+"/rooms/"+room+"/ws", nil)
		if err != nil {
			t.Fatalf("dial %s: %v", room, err)
		}
		t.Cleanup(func() { _ = c.CloseNow() })
		return c
	}
	victims := []*websocket.Conn{dial("victim"), dial("victim")}
	attacker := dial("attacker")
	if err := attacker.Write(ctx, websocket.MessageText, []byte("forge")); err != nil {
		t.Fatal(err)
	}
	if _, b, err := attacker.Read(ctx); err != nil || string(b) != "forged 0" {
		t.Errorf("forged sends: %q (%v), want every one refused", b, err)
	}
	// Each victim socket still works, and its first frame is its own echo.
	for k, v := range victims {
		if err := v.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
			t.Fatalf("victim %d: %v", k, err)
		}
		if _, b, err := v.Read(ctx); err != nil || string(b) != "own hi" {
			t.Errorf("victim %d read %q (%v), want its own echo", k, b, err)
		}
	}
}

// blockingSocketJS accepts upgrades; on "block" its turn awaits forever,
// so the actor takes no other turn.
const blockingSocketJS = `
export function fetch(req, ctx) {
	if (req.headers.get("upgrade") !== "websocket") return new Response("up");
	const ws = ctx.acceptWebSocket(req);
	return new Response(null, {status: 101, webSocket: ws});
}
export async function webSocketMessage(ws, data, ctx) {
	if (data === "block") await new Promise(() => {});
}
`

// TestRedteam_FrameFloodIntoAWedgedActor: a client flooding frames at an
// actor that takes no turns fills its mailbox, not the host's memory:
// the connection is closed with 1013, the mailbox stays within its
// bound, and the neighbour is served.
func TestRedteam_FrameFloodIntoAWedgedActor(t *testing.T) {
	h := actor.ChildSpec{Script: compile(t, "blocking.js", blockingSocketJS)}
	h.Mailbox.Messages = 8
	f := startRed(t, gateway.Config{}, h)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+strings.TrimPrefix(f.base, "http://")+"/h/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte("block")); err != nil {
		t.Fatal(err)
	}
	p, _ := f.node.Lookup("hostile")
	frame := []byte(strings.Repeat("f", 1000))
	sent := 0
	for ; sent < 10000; sent++ {
		if err := c.Write(ctx, websocket.MessageText, frame); err != nil {
			break
		}
		if d := p.MailboxDepth(); d > 8 {
			t.Fatalf("the mailbox holds %d messages, over its bound of 8", d)
		}
	}
	_, _, err = c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusTryAgainLater {
		t.Fatalf("after %d frames into a wedged actor: %v, want a close with 1013", sent, err)
	}
	if d := p.MailboxDepth(); d > 8 {
		t.Fatalf("the mailbox holds %d messages, over its bound of 8", d)
	}
	f.victimServes(t)
}
