package egress_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/egress"
)

// TestFetchWideHeaderValue: a script's fetch with a header value above
// U+00FF rejects with a TypeError naming the header, and nothing is sent;
// a Latin-1 value goes out.
func TestFetchWideHeaderValue(t *testing.T) {
	var hits atomic.Int64
	var got atomic.Value
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		got.Store(r.Header.Get("X-V"))
	}))
	t.Cleanup(s.Close)
	api, err := egress.New("api", egress.Policy{Allow: []string{s.URL + "/"}, Networks: loopback})
	if err != nil {
		t.Fatal(err)
	}
	node, to := grantedNode(t, "client", `
export async function receive(msg, ctx) {
	try { const r = await ctx.env.api.fetch(msg.url, {headers: {"X-V": msg.v}}); return String(r.status); }
	catch (e) { return e.name + ": " + e.message; }
}`, api)
	call := func(v string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var out string
		if err := node.Call(ctx, to, map[string]any{"url": s.URL + "/x", "v": v}, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if out := call("5 €"); !strings.HasPrefix(out, "TypeError: ") || !strings.Contains(out, `"x-v"`) || hits.Load() != 0 {
		t.Fatalf("a value above U+00FF: %q, %d requests sent; want a TypeError naming x-v and none", out, hits.Load())
	}
	if out := call("café"); out != "200" || hits.Load() != 1 || got.Load() == nil {
		t.Fatalf("a Latin-1 value: %q, %d requests sent", out, hits.Load())
	}
}
