package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/gateway"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
	"github.com/cloister-rt/cloister/supervisor"
)

// appJS answers by the last segment of the path.
const appJS = `
let key = "static", count = 0, aborted = 0;
export function init(args) { if (args && args.key) key = args.key; }
export async function fetch(req, ctx) {
	const action = new URL(req.url).pathname.split("/").pop();
	switch (action) {
	case "count":
		count++;
		return Response.json({key, count});
	case "echo":
		const text = await req.clone().text();
		return new Response(text, {headers: {"x-len": String((await req.arrayBuffer()).byteLength)}});
	case "crash":
		throw new Error("secret-detail-in-the-stack");
	case "bad":
		return {status: 200, body: "not a Response"};
	case "crlf":
		return new Response("x", {headers: {"x-evil": "a\r\nSet-Cookie: stolen=1"}});
	case "slow":
		return new Promise(resolve => req.signal.addEventListener("abort", () => { aborted++; resolve(new Response("late")); }));
	case "aborted":
		return new Response(String(aborted));
	case "forged": {
		// Reach past the Headers class into its storage: the gateway checks again.
		const r = new Response("x");
		const sym = Object.getOwnPropertySymbols(r.headers)[0];
		r.headers[sym].push(["x-evil", "a\r\nSet-Cookie: stolen=1"]);
		return r;
	}
	case "huge":
		return new Response("z".repeat(4096));
	}
	return new Response("no such action", {status: 404});
}
`

const receiveOnlyJS = `export function receive() {}`

type fixture struct {
	node *actor.Node
	gw   *gateway.Gateway
	base string
	c    *http.Client
}

func compile(t *testing.T, name, src string) *isolate.Script {
	t.Helper()
	s, err := isolate.Compile(name, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func start(t *testing.T, cfg gateway.Config) *fixture {
	t.Helper()
	app := compile(t, "app.js", appJS)
	one := supervisor.NewOneForOne(100, time.Second)
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Routes == nil {
		cfg.Routes = []gateway.Route{
			{Pattern: "/static/", Grant: "static"},
			{Pattern: "/rooms/{room}/", Grant: "rooms", Key: "room"},
			{Pattern: "/small/", Grant: "small"},
			{Pattern: "GET /one/", Grant: "one", MaxInflight: 1},
			{Pattern: "/quick/", Grant: "quick", Timeout: 100 * time.Millisecond},
			{Pattern: "/queue/", Grant: "queue"},
			{Pattern: "/nofetch", Grant: "nofetch"},
			{Pattern: "/gone", Grant: "gone"},
		}
	}
	gw, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	worker := func(name string) actor.ChildSpec { return actor.ChildSpec{Name: name, Script: app} }
	small := worker("small")
	small.Limits.MessageBytes = 1024
	queue := worker("queue")
	queue.Mailbox = mailbox.Limits{Messages: 1}
	gone := worker("gone")
	gone.Restart = actor.Temporary
	send := capability.Send
	root := actor.ChildSpec{
		Name: "root", Strategy: one,
		Children: []actor.ChildSpec{
			worker("static"), small, worker("one"), worker("quick"), queue, gone,
			{Name: "nofetch", Script: compile(t, "nofetch.js", receiveOnlyJS)},
			{Name: "rooms", Strategy: one, MaxChildren: 3, Template: &actor.ChildSpec{Script: app}},
			{Name: "http", Go: gateway.ReceiverName, Grants: []actor.GrantSpec{
				{Name: "static", To: "static", Rights: send},
				{Name: "rooms", To: "rooms", Rights: send | capability.Spawn},
				{Name: "small", To: "small", Rights: send},
				{Name: "one", To: "one", Rights: send},
				{Name: "quick", To: "quick", Rights: send},
				{Name: "queue", To: "queue", Rights: send},
				{Name: "nofetch", To: "nofetch", Rights: send},
				{Name: "gone", To: "gone", Rights: send},
			}},
		},
	}
	node := startGateway(t, gw, root)
	return &fixture{node: node, gw: gw, base: "http://" + gw.Addr().String(), c: &http.Client{Timeout: 30 * time.Second}}
}

func (f *fixture) do(t *testing.T, method, path, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

func (f *fixture) proc(t *testing.T, path string) *actor.Process {
	t.Helper()
	p, ok := f.node.Lookup(path)
	if !ok {
		t.Fatalf("no process %s", path)
	}
	return p
}

func TestRoutingAndEcho(t *testing.T) {
	f := start(t, gateway.Config{})
	st, hdr, body := f.do(t, "POST", "/static/echo", "hello")
	if st != 200 || body != "hello" || hdr.Get("X-Len") != "5" {
		t.Fatalf("echo: %d %q %v", st, body, hdr)
	}
	if st, _, body := f.do(t, "GET", "/static/count", ""); st != 200 || body != `{"key":"static","count":1}` {
		t.Fatalf("count: %d %q", st, body)
	}
	if st, _, _ := f.do(t, "GET", "/nowhere", ""); st != 404 {
		t.Fatalf("unrouted: %d", st)
	}
	if st, _, _ := f.do(t, "POST", "/one/count", ""); st != 405 {
		t.Fatalf("wrong method: %d", st)
	}
}

func TestKeyedActors(t *testing.T) {
	f := start(t, gateway.Config{})
	count := func(room string) (string, int) {
		st, _, body := f.do(t, "GET", "/rooms/"+room+"/count", "")
		if st != 200 {
			t.Fatalf("room %s: %d %q", room, st, body)
		}
		var v struct {
			Key   string
			Count int
		}
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatal(err)
		}
		return v.Key, v.Count
	}
	for want := 1; want <= 3; want++ {
		if k, n := count("alpha"); k != "alpha" || n != want {
			t.Fatalf("alpha: %s %d, want %d", k, n, want)
		}
	}
	if k, n := count("beta"); k != "beta" || n != 1 {
		t.Fatalf("beta: %s %d", k, n)
	}
	// Concurrent first uses of one key reach one actor.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if st, _, _ := f.do(t, "GET", "/rooms/gamma/count", ""); st != 200 {
				t.Errorf("gamma: %d", st)
			}
		}()
	}
	wg.Wait()
	if _, n := count("gamma"); n != 9 {
		t.Fatalf("gamma after 8 concurrent first uses: count %d, want 9", n)
	}
	if got := len(f.proc(t, "rooms").Children()); got != 3 {
		t.Fatalf("rooms has %d children, want 3", got)
	}

	// A crash restarts the keyed child under the same name, state anew.
	p := f.proc(t, "rooms/alpha")
	if st, _, body := f.do(t, "GET", "/rooms/alpha/crash", ""); st != 500 || strings.Contains(body, "secret") {
		t.Fatalf("crash: %d %q", st, body)
	}
	testkit.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if p.Restarts() < 1 || p.Status() != actor.StatusRunning {
			return fmt.Errorf("alpha: %d restarts, %s", p.Restarts(), p.Status())
		}
		return nil
	})
	if q := f.proc(t, "rooms/alpha"); q != p {
		t.Fatal("the restarted child is another process")
	}
	if k, n := count("alpha"); k != "alpha" || n != 1 {
		t.Fatalf("alpha after restart: %s %d", k, n)
	}
}

func TestHostileKeysAndSpawnFlood(t *testing.T) {
	f := start(t, gateway.Config{})
	for _, key := range []string{"a%20b", ".hidden", strings.Repeat("k", 65), "%00", "a%2Fb"} {
		if st, _, _ := f.do(t, "GET", "/rooms/"+key+"/count", ""); st != 400 {
			t.Errorf("key %q: %d, want 400", key, st)
		}
	}
	for i := range 3 {
		if st, _, _ := f.do(t, "GET", fmt.Sprintf("/rooms/k%d/count", i), ""); st != 200 {
			t.Fatalf("k%d: %d", i, st)
		}
	}
	for i := 3; i < 20; i++ {
		st, hdr, _ := f.do(t, "GET", fmt.Sprintf("/rooms/k%d/count", i), "")
		if st != 503 || hdr.Get("Retry-After") == "" {
			t.Fatalf("k%d past the children limit: %d %v", i, st, hdr)
		}
	}
	if got := len(f.proc(t, "rooms").Children()); got != 3 {
		t.Fatalf("rooms has %d children", got)
	}
	if st, _, _ := f.do(t, "GET", "/rooms/k1/count", ""); st != 200 {
		t.Fatalf("an existing key after the flood: %d", st)
	}
}

func TestFailureStatuses(t *testing.T) {
	f := start(t, gateway.Config{MaxBody: 8 << 10})

	// A throw: 500, nothing of the error in the body; the crash report has it.
	st, _, body := f.do(t, "GET", "/static/crash", "")
	if st != 500 || strings.Contains(body, "secret") || strings.Contains(body, "at ") {
		t.Fatalf("crash: %d %q", st, body)
	}
	testkit.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		for _, c := range f.proc(t, "static").Crashes() {
			if strings.Contains(c.Err.Error(), "secret-detail") {
				return nil
			}
		}
		return errors.New("no crash report with the error")
	})
	// Not a Response: 500, the actor lives on.
	if st, _, _ := f.do(t, "GET", "/static/bad", ""); st != 500 {
		t.Fatalf("non-Response: %d", st)
	}
	// CRLF in a header value: refused, never written.
	st, hdr, _ := f.do(t, "GET", "/static/crlf", "")
	if st != 500 || hdr.Get("Set-Cookie") != "" || hdr.Get("X-Evil") != "" {
		t.Fatalf("crlf: %d %v", st, hdr)
	}
	st, hdr, _ = f.do(t, "GET", "/static/forged", "")
	if st != 500 || hdr.Get("Set-Cookie") != "" || hdr.Get("X-Evil") != "" {
		t.Fatalf("a forged header: %d %v", st, hdr)
	}
	// No fetch export: 501.
	if st, _, _ := f.do(t, "GET", "/nofetch", ""); st != 501 {
		t.Fatalf("no fetch: %d", st)
	}
	// Over the gateway's body limit, and over the target's message_bytes.
	if st, _, _ := f.do(t, "POST", "/static/echo", strings.Repeat("x", 9<<10)); st != 413 {
		t.Fatalf("over max body: %d", st)
	}
	if st, _, _ := f.do(t, "POST", "/small/echo", strings.Repeat("x", 4<<10)); st != 413 {
		t.Fatalf("over message_bytes: %d", st)
	}
	if st, _, _ := f.do(t, "POST", "/small/echo", "fits"); st != 200 {
		t.Fatalf("under message_bytes: %d", st)
	}
	// An answer over the actor's message_bytes cannot leave it: 500.
	if st, _, body := f.do(t, "GET", "/small/huge", ""); st != 500 || strings.Contains(body, "zzz") {
		t.Fatalf("an answer over message_bytes: %d %q", st, body)
	}
	// The route's timeout: 504, and the handler's signal aborts.
	if st, _, _ := f.do(t, "GET", "/quick/slow", ""); st != 504 {
		t.Fatalf("timeout: %d", st)
	}
	testkit.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		// quick's timeout is short, so read through another route... the
		// same actor answers once the abort has freed it.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		to, err := f.node.Capability("quick", capability.Send)
		if err != nil {
			return err
		}
		env, err := encodeReq("GET", "http://x/aborted")
		if err != nil {
			return err
		}
		ans, err := f.node.Fetch(ctx, to, env)
		if err != nil {
			return err
		}
		if body := decodeBody(t, ans); body != "1" {
			return fmt.Errorf("aborted %q", body)
		}
		return nil
	})
	// The process is gone: 502.
	gone := f.proc(t, "gone")
	if err := f.node.Stop(gone.ID()); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if st, _, _ := f.do(t, "GET", "/gone", ""); st != 502 {
			return fmt.Errorf("gone: %d", st)
		}
		return nil
	})
	// The node is unaffected.
	if st, _, _ := f.do(t, "GET", "/static/count", ""); st != 200 {
		t.Fatalf("after the failures: %d", st)
	}
}

func TestInflightAndMailboxLimits(t *testing.T) {
	f := start(t, gateway.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hold := func(path string) chan int {
		ch := make(chan int, 1)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", f.base+path, nil)
			res, err := f.c.Do(req)
			if err != nil {
				ch <- 0
				return
			}
			res.Body.Close()
			ch <- res.StatusCode
		}()
		return ch
	}
	// max_inflight 1: a second request while one runs is 429.
	one := f.proc(t, "one")
	h0 := one.Handled()
	first := hold("/one/slow")
	testkit.CheckFor(t, 10*time.Second, 2*time.Millisecond, func() error {
		if one.Handled() == h0 {
			return errors.New("the first request has not started")
		}
		return nil
	})
	if st, _, _ := f.do(t, "GET", "/one/count", ""); st != 429 {
		t.Fatalf("over max_inflight: %d", st)
	}

	// A mailbox of one: one request running, one queued, the next 503.
	q := f.proc(t, "queue")
	h0 = q.Handled()
	running := hold("/queue/slow")
	testkit.CheckFor(t, 10*time.Second, 2*time.Millisecond, func() error {
		if q.Handled() == h0 {
			return errors.New("the first request has not started")
		}
		return nil
	})
	// A request queued behind it, its caller gone before its turn: dropped.
	qctx, qcancel := context.WithCancel(context.Background())
	qdone := make(chan error, 1)
	go func() {
		to, err := f.node.Capability("queue", capability.Send)
		if err != nil {
			qdone <- err
			return
		}
		env, _ := encodeReq("GET", "http://x/queue/count")
		_, err = f.node.Fetch(qctx, to, env)
		qdone <- err
	}()
	testkit.CheckFor(t, 10*time.Second, 2*time.Millisecond, func() error {
		if q.MailboxDepth() != 1 {
			return fmt.Errorf("mailbox depth %d", q.MailboxDepth())
		}
		return nil
	})
	st, hdr, _ := f.do(t, "GET", "/queue/count", "")
	if st != 503 || hdr.Get("Retry-After") == "" {
		t.Fatalf("mailbox full: %d %v", st, hdr)
	}
	qcancel()
	if err := <-qdone; !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled fetch: %v", err)
	}
	cancel() // the HTTP clients go away: the running request's signal aborts
	for _, ch := range []chan int{first, running} {
		<-ch
	}
	testkit.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		st, _, body := f.do(t, "GET", "/queue/aborted", "")
		if st != 200 || body != "1" {
			return fmt.Errorf("aborted: %d %q", st, body)
		}
		return nil
	})
	// The queued request was dropped, never handled: count starts at 1.
	if st, _, body := f.do(t, "GET", "/queue/count", ""); st != 200 || body != `{"key":"static","count":1}` {
		t.Fatalf("after the drop: %d %q", st, body)
	}
}

func TestServerLimits(t *testing.T) {
	f := start(t, gateway.Config{MaxHeaderBytes: 4 << 10, ReadHeaderTimeout: 200 * time.Millisecond})
	// Huge headers: 431, never reaching an actor.
	req, _ := http.NewRequest("GET", f.base+"/static/count", nil)
	req.Header.Set("X-Huge", strings.Repeat("h", 64<<10))
	res, err := f.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 431 {
		t.Fatalf("huge headers: %d", res.StatusCode)
	}
	// A slow client that never finishes its headers is cut off.
	conn, err := net.Dial("tcp", f.gw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /static/count HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err = io.ReadAll(bufio.NewReader(conn))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept a slow client's connection open")
	}
	if st, _, body := f.do(t, "GET", "/static/count", ""); st != 200 || body != `{"key":"static","count":1}` {
		t.Fatalf("after the hostile clients: %d %q", st, body)
	}
}

func TestDrainOnShutdown(t *testing.T) {
	f := start(t, gateway.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.node.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", f.gw.Addr().String()); err == nil {
		t.Fatal("the gateway still listens after shutdown")
	}
}

// startGateway starts root on a node of its own whose gateway receiver is
// gw's, and shuts the node down when the test ends.
func startGateway(t *testing.T, gw *gateway.Gateway, root actor.ChildSpec) *actor.Node {
	t.Helper()
	node, err := actor.NewNode(actor.Options{Receivers: map[string]func() actor.Receiver{gateway.ReceiverName: gw.Receiver}})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Start(root); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = node.Shutdown(ctx)
		_ = node.Wait()
	})
	return node
}
