package isolate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/isolate"
)

// TestWebHeaderValuesAreBytes: a header value with a code unit above
// U+00FF throws a TypeError naming the header, however the value gets in
// (append, set, a Headers, Request or Response init); Latin-1 passes.
func TestWebHeaderValuesAreBytes(t *testing.T) {
	iso, _ := newIsolate(t, evalJS, isolate.Limits{CPU: 5 * time.Second}) // the long values, under -race
	const bad = `threw TypeError: invalid value of header `
	cases := []struct{ code, want string }{
		{`new Headers({"X-A": "price: 5€"}).get("x-a")`, bad + `"x-a": a character above U+00FF is not allowed (header values are bytes)`},
		{`new Headers([["x-b", "\u0100"]]).get("x-b")`, bad + `"x-b"`},
		{`new Headers().append("X-C", "ok \ud83d\ude00")`, bad + `"x-c"`},
		{`new Headers().set("x-d", "\ud800")`, bad + `"x-d"`}, // a lone surrogate
		{`new Response("x", {headers: {"x-e": "中文"}}).status`, bad + `"x-e"`},
		{`new Request("http://h.test/", {headers: {"x-f": "\u20ac"}}).url`, bad + `"x-f"`},
		{`new Request(new Request("http://h.test/"), {headers: [["x-g", "\uffff"]]}).url`, bad + `"x-g"`},
		{`Response.json({}, {headers: {"x-h": "\u0394"}}).status`, bad + `"x-h"`},
		{`new Headers({"x-i": "a".repeat(1 << 16) + "€"}).get("x-i")`, bad + `"x-i"`},
		// CR, LF and NUL keep their own message; the first bad character names it.
		{`new Headers({"x-j": "a\r\nb: €"}).get("x-j")`, bad + `"x-j": CR, LF and NUL are not allowed`},
		{`new Headers({"x-j": "€\r\n"}).get("x-j")`, bad + `"x-j": a character above U+00FF`},
		{`new Headers({"x-k": "a\0"}).get("x-k")`, bad + `"x-k": CR, LF and NUL are not allowed`},
		// Latin-1 is a byte each: allowed, as in browsers.
		{`new Headers({"x-l": "caf\u00e9 \u00ff"}).get("x-l")`, "café ÿ"},
		{`new Headers({"x-m": "\u00e9".repeat(1 << 16)}).get("x-m").length`, "65536"},
		{`new Response(null, {headers: {"x-n": " plain "}}).headers.get("x-n")`, "plain"},
		// A redirect's location is a URL's href: ASCII, the query escaped.
		{`Response.redirect("http://h.test/€?q=€").headers.get("location")`, "http://h.test/%E2%82%AC?q=%E2%82%AC"},
		{`new URL("http://h.test/?q=é&r=€").searchParams.get("r") + new URL("http://h.test/?q=é").search`, "€?q=%C3%A9"},
	}
	for _, c := range cases {
		got := answer(t, turn(t, iso, map[string]any{"code": c.code}))
		s, _ := got.(string)
		if strings.HasPrefix(c.want, bad) && !strings.HasPrefix(s, c.want) || !strings.HasPrefix(c.want, bad) && s != c.want {
			t.Errorf("%.80s = %.200q, want %q", c.code, s, c.want)
		}
	}
}

// TestWebWideHeaderFailsTheFetch: a handler that answers with such a
// header throws, so its fetch turn fails instead of sending the value.
func TestWebWideHeaderFailsTheFetch(t *testing.T) {
	iso, _ := newIsolate(t, `
		export function fetch(req) {
			if (req.url.endsWith("/latin1")) return new Response("x", {headers: {"x-v": "é"}});
			return new Response("x", {headers: {"x-v": "€"}});
		}`, isolate.Limits{})
	res, o := fetchTurn(t, iso, isolate.HTTPRequest{Method: "GET", URL: "http://h.test/latin1"})
	if o.Crash != nil || o.ReplyErr != nil || res.Status != 200 {
		t.Fatalf("a Latin-1 header: %d crash=%v replyErr=%v", res.Status, o.Crash, o.ReplyErr)
	}
	if len(res.Headers) == 0 || res.Headers[0][0] != "x-v" || res.Headers[0][1] != "é" {
		t.Fatalf("a Latin-1 header reached the host as %q", res.Headers)
	}
	res, o = fetchTurn(t, iso, isolate.HTTPRequest{Method: "GET", URL: "http://h.test/wide"})
	if o.Crash == nil && o.ReplyErr == nil {
		t.Fatalf("a header above U+00FF was answered: %d %q", res.Status, res.Headers)
	}
	msg := ""
	if o.Crash != nil {
		msg = o.Crash.Error()
	} else {
		msg = o.ReplyErr.Error()
	}
	if !strings.Contains(msg, "TypeError") || !strings.Contains(msg, `"x-v"`) {
		t.Fatalf("the failed turn: %q, want a TypeError naming x-v", msg)
	}
}
