package isolate_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cloister-rt/cloister/isolate"

	"github.com/vmihailenco/msgpack/v5"
)

// fetchTurn hands req to the isolate's fetch and returns the decoded answer.
func fetchTurn(t *testing.T, iso *isolate.Isolate, req isolate.HTTPRequest) (isolate.HTTPResponse, isolate.Outcome) {
	t.Helper()
	var out *isolate.Outcome
	iso.Fetch(envelope(t, req), 1, func(o isolate.Outcome) { out = &o })
	if out == nil {
		t.Fatal("fetch turn did not finish")
	}
	var res isolate.HTTPResponse
	if out.Reply != nil {
		if err := msgpack.Unmarshal(out.Reply.Data(), &res); err != nil {
			t.Fatal(err)
		}
	}
	return res, *out
}

func TestWebFetchEcho(t *testing.T) {
	iso, _ := newIsolate(t, `
		export async function fetch(req, ctx) {
			const u = new URL(req.url);
			const body = await req.json();
			return Response.json({
				method: req.method, path: u.pathname, q: u.searchParams.get("q"),
				ct: req.headers.get("Content-Type"), got: body.n + 1,
				aborted: req.signal.aborted,
			}, {status: 201, headers: {"X-Test": "yes"}});
		}`, isolate.Limits{})
	res, o := fetchTurn(t, iso, isolate.HTTPRequest{
		Method: "POST", URL: "http://example.test/a/b?q=hello+world",
		Headers: [][2]string{{"Content-Type", "application/json"}},
		Body:    []byte(`{"n": 41}`),
	})
	if o.Crash != nil || o.ReplyErr != nil {
		t.Fatalf("crash=%v replyErr=%v", o.Crash, o.ReplyErr)
	}
	if res.Status != 201 {
		t.Fatalf("status %d", res.Status)
	}
	want := `{"method":"POST","path":"/a/b","q":"hello world","ct":"application/json","got":42,"aborted":false}`
	if string(res.Body) != want {
		t.Fatalf("body %s, want %s", res.Body, want)
	}
	var ct, xt string
	for _, h := range res.Headers {
		switch h[0] {
		case "content-type":
			ct = h[1]
		case "x-test":
			xt = h[1]
		}
	}
	if ct != "application/json" || xt != "yes" {
		t.Fatalf("headers %v", res.Headers)
	}
}

func TestWebClasses(t *testing.T) {
	iso, _ := newIsolate(t, evalJS, isolate.Limits{})
	cases := []struct{ code, want string }{
		{`new Headers({"A-B": "1"}).get("a-b")`, "1"},
		{`(() => { const h = new Headers(); h.append("x", "1"); h.append("X", "2"); return h.get("x"); })()`, "1, 2"},
		{`(() => { try { new Headers({x: "a\r\nb: c"}); return "no"; } catch (e) { return e.name; } })()`, "TypeError"},
		{`(() => { try { new Headers({"bad name": "v"}); return "no"; } catch (e) { return e.name; } })()`, "TypeError"},
		{`[...new Headers([["b", "2"], ["a", "1"]]).keys()].join()`, "a,b"},
		{`new URL("/x/../y?a=1#f", "https://Example.com:443/base").href`, "https://example.com/y?a=1#f"},
		{`new URL("http://u:p@h.test:8080/p").host`, "h.test:8080"},
		{`new URL("http://h.test/p?a=1&b=2").searchParams.get("b")`, "2"},
		{`(() => { const u = new URL("http://h.test/p"); u.searchParams.set("k", "a b&c"); return u.href; })()`, "http://h.test/p?k=a+b%26c"},
		{`(() => { try { new URL("not a url"); return "no"; } catch (e) { return e.name; } })()`, "TypeError"},
		{`URL.canParse("http://x.test/")`, "true"},
		{`new URLSearchParams("a=1&a=2&b=%zz").getAll("a").join() + new URLSearchParams("b=%zz").get("b")`, "1,2%zz"},
		{`new URLSearchParams({x: "1", y: "é"}).toString()`, "x=1&y=%C3%A9"},
		{`new TextDecoder().decode(new TextEncoder().encode("héllo €"))`, "héllo €"},
		{`new TextEncoder().encode("€").length`, "3"},
		{`(() => { try { new TextDecoder("utf-8", {fatal: true}).decode(new Uint8Array([0xff])); return "no"; } catch (e) { return e.name; } })()`, "TypeError"},
		{`(() => { const c = new AbortController(); let n = 0; c.signal.addEventListener("abort", () => n++); c.abort(); c.abort(); return c.signal.aborted + ":" + n + ":" + c.signal.reason.name; })()`, "true:1:AbortError"},
		{`new Response("hi").status + ":" + new Response("hi").headers.get("content-type")`, "200:text/plain;charset=UTF-8"},
		{`(() => { try { new Response("x", {status: 99}); return "no"; } catch (e) { return e.name; } })()`, "RangeError"},
		{`new Request("http://h.test/", {method: "post", body: "x"}).method`, "POST"},
		{`(() => { try { new Request("http://h.test/", {body: "x"}); return "no"; } catch (e) { return e.name; } })()`, "TypeError"},
		{`Response.redirect("http://h.test/x", 301).headers.get("location")`, "http://h.test/x"},
	}
	for _, c := range cases {
		out := turn(t, iso, map[string]any{"code": c.code})
		got := answer(t, out)
		if s, ok := got.(string); !ok || s != c.want {
			t.Errorf("%s = %#v, want %q", c.code, got, c.want)
		}
	}
}

func TestWebBodyOnce(t *testing.T) {
	iso, _ := newIsolate(t, `
		export async function fetch(req) {
			const a = await req.text();
			let second;
			try { await req.text(); second = "read twice"; } catch (e) { second = e.name; }
			const ab = await new Response(new Uint8Array([1, 2, 3])).arrayBuffer();
			return new Response(a + ":" + second + ":" + ab.byteLength);
		}`, isolate.Limits{})
	res, o := fetchTurn(t, iso, isolate.HTTPRequest{Method: "PUT", URL: "http://h.test/", Body: []byte("body")})
	if o.Crash != nil || o.ReplyErr != nil {
		t.Fatalf("crash=%v replyErr=%v", o.Crash, o.ReplyErr)
	}
	if string(res.Body) != "body:TypeError:3" {
		t.Fatalf("body %q", res.Body)
	}
}

func TestWebNonResponseAndThrow(t *testing.T) {
	iso, _ := newIsolate(t, `
		export async function fetch(req) {
			if (req.url.endsWith("/throw")) throw new Error("secret detail");
			return {status: 200};
		}`, isolate.Limits{})
	res, o := fetchTurn(t, iso, isolate.HTTPRequest{Method: "GET", URL: "http://h.test/x"})
	if o.Crash != nil || res.Bad != "object" {
		t.Fatalf("non-Response: crash=%v bad=%q", o.Crash, res.Bad)
	}
	_, o = fetchTurn(t, iso, isolate.HTTPRequest{Method: "GET", URL: "http://h.test/throw"})
	if o.Crash == nil || !strings.Contains(o.Crash.Error(), "secret detail") {
		t.Fatalf("throw: crash=%v", o.Crash)
	}
}

func TestWebNoFetch(t *testing.T) {
	iso, _ := newIsolate(t, `export function receive() {}`, isolate.Limits{})
	_, o := fetchTurn(t, iso, isolate.HTTPRequest{Method: "GET", URL: "http://h.test/"})
	if !errors.Is(o.ReplyErr, isolate.ErrNoFetch) {
		t.Fatalf("replyErr = %v, want ErrNoFetch", o.ReplyErr)
	}
}

func TestWebFetchOnlyScript(t *testing.T) {
	iso, _ := newIsolate(t, `export function fetch() { return new Response("ok"); }`, isolate.Limits{})
	out := turn(t, iso, map[string]any{"x": 1})
	if !errors.Is(out.ReplyErr, isolate.ErrNoReceive) {
		t.Fatalf("a message to a fetch-only script: %v", out.ReplyErr)
	}
	res, _ := fetchTurn(t, iso, isolate.HTTPRequest{Method: "GET", URL: "http://h.test/"})
	if string(res.Body) != "ok" {
		t.Fatalf("body %q", res.Body)
	}
}

func TestWebAbort(t *testing.T) {
	iso, _ := newIsolate(t, `
		let seen = "none";
		export function fetch(req) {
			if (req.url.endsWith("/seen")) return new Response(seen);
			return new Promise(resolve => {
				req.signal.addEventListener("abort", () => { seen = req.signal.reason.name; resolve(new Response("late")); });
			});
		}`, isolate.Limits{})
	var out *isolate.Outcome
	iso.Fetch(envelope(t, isolate.HTTPRequest{Method: "GET", URL: "http://h.test/wait"}), 7, func(o isolate.Outcome) { out = &o })
	if out != nil || !iso.Busy() {
		t.Fatal("the turn should wait for its promise")
	}
	if err := iso.AbortFetch(7); err != nil {
		t.Fatal(err)
	}
	if out == nil {
		t.Fatal("the abort listener's resolve did not end the turn")
	}
	res, _ := fetchTurn(t, iso, isolate.HTTPRequest{Method: "GET", URL: "http://h.test/seen"})
	if string(res.Body) != "AbortError" {
		t.Fatalf("seen %q", res.Body)
	}
}

// A script can reach past Headers into its storage; what it forges there
// reaches the host, which must check it again (the gateway does).
func TestWebForgedHeaderReachesHost(t *testing.T) {
	iso, _ := newIsolate(t, `
		export function fetch() {
			const r = new Response("x");
			const sym = Object.getOwnPropertySymbols(r.headers)[0];
			r.headers[sym].push(["x-evil", "a\r\nb"]);
			return r;
		}`, isolate.Limits{})
	res, o := fetchTurn(t, iso, isolate.HTTPRequest{Method: "GET", URL: "http://h.test/"})
	if o.Crash != nil {
		t.Fatal(o.Crash)
	}
	found := false
	for _, h := range res.Headers {
		if h[0] == "x-evil" && strings.Contains(h[1], "\r\n") {
			found = true
		}
	}
	if !found {
		t.Fatalf("headers %q", res.Headers)
	}
}
