package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/gateway"
	"github.com/cloister-rt/cloister/supervisor"

	"github.com/coder/websocket"
)

// latin1JS sets and reads header values with characters from U+0080 to
// U+00FF, which are one byte each on the wire.
const latin1JS = `
function codes(s) {
	if (s === null) return null;
	const a = [];
	for (let i = 0; i < s.length; i++) a.push(s.charCodeAt(i));
	return a;
}
export function fetch(req) {
	switch (new URL(req.url).pathname.split("/").pop()) {
	case "set":
		return new Response("x", {headers: {"x-name": "\u00e9", "x-mixed": "caf\u00e9 \u00ff\u0080!"}});
	case "read":
		return Response.json({name: codes(req.headers.get("x-name")), utf8: codes(req.headers.get("x-utf8")),
			text: new TextDecoder().decode(new Uint8Array(Array.from(req.headers.get("x-utf8"), c => c.charCodeAt(0))))});
	case "echo":
		return new Response("x", {headers: {"x-name": req.headers.get("x-name")}});
	case "wide": {
		// Past the Headers class into its storage: the gateway refuses it.
		const r = new Response("x");
		r.headers[Object.getOwnPropertySymbols(r.headers)[0]].push(["x-wide", "\u0100"]);
		return r;
	}
	case "crlf": {
		const r = new Response("x");
		r.headers[Object.getOwnPropertySymbols(r.headers)[0]].push(["x-evil", "\u00e9\r\nset-cookie: a=1"]);
		return r;
	}
	}
	return new Response("no such action", {status: 404});
}
`

func startLatin1(t *testing.T) (base string) {
	t.Helper()
	gw, err := gateway.New(gateway.Config{Addr: "127.0.0.1:0", Routes: []gateway.Route{{Pattern: "/l/", Grant: "l"}}})
	if err != nil {
		t.Fatal(err)
	}
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(10, time.Second), Children: []actor.ChildSpec{
		{Name: "l", Script: compile(t, "latin1.js", latin1JS)},
		{Name: "http", Go: gateway.ReceiverName, Grants: []actor.GrantSpec{{Name: "l", To: "l", Rights: capability.Send}}},
	}}
	startGateway(t, gw, root)
	return "http://" + gw.Addr().String()
}

func latin1Get(t *testing.T, url string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = []string{v}
	}
	c := &http.Client{Timeout: 30 * time.Second}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

// TestHeaderLatin1Out: a script's "é" in a response header reaches the
// client as the one byte 0xE9, not UTF-8's two.
func TestHeaderLatin1Out(t *testing.T) {
	base := startLatin1(t)
	st, hdr, body := latin1Get(t, base+"/l/set", nil)
	if st != 200 {
		t.Fatalf("status %d %q", st, body)
	}
	if got := hdr.Get("X-Name"); got != "\xe9" {
		t.Errorf("x-name: the client got %q, want \"\\xe9\"", got)
	}
	if got := hdr.Get("X-Mixed"); got != "caf\xe9 \xff\x80!" {
		t.Errorf("x-mixed: the client got %q, want \"caf\\xe9 \\xff\\x80!\"", got)
	}
}

// TestHeaderLatin1In: each byte of a request header is one character in
// the script: 0xE9 is "é", and UTF-8's 0xC3 0xA9 the two characters "Ã©".
func TestHeaderLatin1In(t *testing.T) {
	base := startLatin1(t)
	st, _, body := latin1Get(t, base+"/l/read", map[string]string{"X-Name": "\xe9", "X-Utf8": "\xc3\xa9"})
	if st != 200 {
		t.Fatalf("status %d %q", st, body)
	}
	var got struct {
		Name, Utf8 []int
		Text       string
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("%v: %q", err, body)
	}
	if len(got.Name) != 1 || got.Name[0] != 0xe9 {
		t.Errorf(`"\xe9" reads in the script as the code units %v, want [233]`, got.Name)
	}
	if len(got.Utf8) != 2 || got.Utf8[0] != 0xc3 || got.Utf8[1] != 0xa9 {
		t.Errorf(`"\xc3\xa9" reads in the script as the code units %v, want [195 169]`, got.Utf8)
	}
	if got.Text != "é" {
		t.Errorf("the UTF-8 header decoded as docs/http.md says: %q, want \"é\"", got.Text)
	}
}

// TestHeaderLatin1RoundTrip: every byte from 0x80 to 0xFF a client sends
// comes back as it was when the script copies the header.
func TestHeaderLatin1RoundTrip(t *testing.T) {
	base := startLatin1(t)
	b := make([]byte, 0, 128)
	for c := 0x80; c <= 0xff; c++ {
		b = append(b, byte(c))
	}
	sent := "a" + string(b) + "z"
	st, hdr, body := latin1Get(t, base+"/l/echo", map[string]string{"X-Name": sent})
	if st != 200 {
		t.Fatalf("status %d %q", st, body)
	}
	if got := hdr.Get("X-Name"); got != sent {
		t.Fatalf("the echoed header is %d bytes %q, want the %d sent", len(got), got, len(sent))
	}
}

// TestHeaderLatin1Refused: a value a script forged into a Headers'
// storage is refused by the gateway (500, the header not sent) when it
// holds a character above U+00FF or CR/LF.
func TestHeaderLatin1Refused(t *testing.T) {
	base := startLatin1(t)
	for _, c := range []struct{ path, header string }{{"wide", "X-Wide"}, {"crlf", "X-Evil"}} {
		st, hdr, _ := latin1Get(t, base+"/l/"+c.path, nil)
		if st != http.StatusInternalServerError || hdr.Get(c.header) != "" || hdr.Get("Set-Cookie") != "" {
			t.Errorf("%s: status %d, headers %v; want 500 without the header", c.path, st, hdr)
		}
	}
}

// TestHeaderLatin1Upgrade: the headers of a WebSocket upgrade read in the
// script as any request's do, one character per byte.
func TestHeaderLatin1Upgrade(t *testing.T) {
	f := startRoomsWith(t, gateway.Route{Pattern: "/rooms/{room}/", Grant: "rooms", Key: "room", MaxSockets: 1, MaxFrame: 1024},
		actor.ChildSpec{Script: compile(t, "upgrade.js", `
export function fetch(req, ctx) {
	const ws = ctx.acceptWebSocket(req);
	const v = req.headers.get("x-name"), a = [];
	for (let i = 0; i < v.length; i++) a.push(v.charCodeAt(i));
	ws.send(a.join(","));
	return new Response(null, {status: 101, webSocket: ws});
}`)})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+f.base+"/rooms/a/ws", &websocket.DialOptions{HTTPHeader: http.Header{"X-Name": {"\xe9\xc3\xa9"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if got := read(t, c); got != "233,195,169" {
		t.Fatalf(`the upgrade's "\xe9\xc3\xa9" reads in the script as the code units %s, want 233,195,169`, got)
	}
}
