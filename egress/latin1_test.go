package egress_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/egress"
)

// latin1ClientJS fetches with the header value msg.v and answers with the
// code units of the response's headers x-back and x-utf8, or the error.
const latin1ClientJS = `
function codes(s) {
	if (s === null) return null;
	const a = [];
	for (let i = 0; i < s.length; i++) a.push(s.charCodeAt(i));
	return a;
}
export async function receive(msg, ctx) {
	let headers = {"x-name": msg.v};
	if (msg.forge) {
		// Past the Headers class into its storage.
		headers = new Headers();
		headers[Object.getOwnPropertySymbols(headers)[0]].push(["x-name", msg.v]);
	}
	try {
		const r = await ctx.env.api.fetch(msg.url, {headers});
		return JSON.stringify({back: codes(r.headers.get("x-back")), utf8: codes(r.headers.get("x-utf8"))});
	} catch (e) { return e.name + ": " + e.message; }
}`

// latin1Upstream records the x-name it receives and answers x-back: 0xE9
// and x-utf8: 0xC3 0xA9, as raw bytes.
func latin1Upstream(t *testing.T) (*httptest.Server, *atomic.Value, *atomic.Int64) {
	t.Helper()
	var got atomic.Value
	var hits atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		got.Store(r.Header.Get("X-Name"))
		w.Header()["X-Back"] = []string{"\xe9"}
		w.Header()["X-Utf8"] = []string{"\xc3\xa9"}
	}))
	t.Cleanup(s.Close)
	return s, &got, &hits
}

func latin1Call(t *testing.T, s *httptest.Server, msg map[string]any) string {
	t.Helper()
	api, err := egress.New("api", egress.Policy{Allow: []string{s.URL + "/"}, Networks: loopback})
	if err != nil {
		t.Fatal(err)
	}
	node, to := grantedNode(t, "client", latin1ClientJS, api)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msg["url"] = s.URL + "/x"
	var out string
	if err := node.Call(ctx, to, msg, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFetchHeaderLatin1: a script's fetch sends "é" as the one byte 0xE9;
// a response's 0xE9 reads as "é" and UTF-8's 0xC3 0xA9 as the two
// characters "Ã©", one per byte.
func TestFetchHeaderLatin1(t *testing.T) {
	s, got, _ := latin1Upstream(t)
	out := latin1Call(t, s, map[string]any{"v": "caf\u00e9"})
	if v, _ := got.Load().(string); v != "caf\xe9" {
		t.Errorf("the upstream got x-name %q, want \"caf\\xe9\"", v)
	}
	var res struct{ Back, Utf8 []int }
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if len(res.Back) != 1 || res.Back[0] != 0xe9 {
		t.Errorf(`"\xe9" reads in the script as the code units %v, want [233]`, res.Back)
	}
	if len(res.Utf8) != 2 || res.Utf8[0] != 0xc3 || res.Utf8[1] != 0xa9 {
		t.Errorf(`"\xc3\xa9" reads in the script as the code units %v, want [195 169]`, res.Utf8)
	}
}

// TestFetchHeaderForgedWide: a value above U+00FF forged into a Headers'
// storage is refused with a TypeError naming the header; nothing is sent.
func TestFetchHeaderForgedWide(t *testing.T) {
	s, _, hits := latin1Upstream(t)
	out := latin1Call(t, s, map[string]any{"v": "\u0100", "forge": true})
	if want := `TypeError: fetch: the value of header "x-name" has a character above U+00FF (header values are bytes)`; out != want || hits.Load() != 0 {
		t.Fatalf("got %q with %d requests sent; want %q and none", out, hits.Load(), want)
	}
}
