package egress_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/egress"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/supervisor"
)

// redteamClientJS fires what it is told through its grant and reports
// each outcome as "status" or "ErrorName".
const redteamClientJS = `
export async function receive(msg, ctx) {
	const g = ctx.env.api;
	if (msg.op === "ping") return "pong";
	if (msg.op === "many") {
		const ps = [];
		for (let i = 0; i < msg.n; i++) ps.push(g.fetch(msg.url).then(r => r.text().then(() => "ok"), e => e.name));
		return await Promise.all(ps);
	}
	const out = [];
	for (const u of msg.urls) {
		try { const r = await g.fetch(u); await r.arrayBuffer(); out.push(String(r.status)); }
		catch (e) { out.push(e.name + ": " + e.message); }
	}
	return out;
}
`

// TestRedteam_ScriptEgress: from a script, dot segments are refused, a
// burst of 500 fetches never has more than max_concurrent in flight (the
// rest are refused at once), an endless or oversized answer is cut at
// max_response, and the actor keeps answering.
func TestRedteam_ScriptEgress(t *testing.T) {
	var inflight, peak atomic.Int64
	release := make(chan struct{})
	var mu sync.Mutex
	var paths []string
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.EscapedPath())
		mu.Unlock()
		switch r.URL.Path {
		case "/v1/slow":
			n := inflight.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			<-release
			inflight.Add(-1)
		case "/v1/endless":
			chunk := []byte(strings.Repeat("e", 32<<10))
			for i := 0; i < 4096; i++ { // 128 MiB if nobody stops reading
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		case "/v1/bigheader":
			w.Header().Set("X-Big", strings.Repeat("h", 100<<10))
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(s.Close)
	api, err := egress.New("api", egress.Policy{Allow: []string{s.URL + "/v1/"}, MaxConcurrent: 3, MaxResponse: 64 << 10,
		Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	if err != nil {
		t.Fatal(err)
	}
	node, to := grantedNode(t, "client", redteamClientJS, api)
	call := func(msg map[string]any) []string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var out []string
		if err := node.Call(ctx, to, msg, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}

	urls := []string{}
	for _, e := range escapes {
		urls = append(urls, s.URL+e)
	}
	for k, got := range call(map[string]any{"urls": urls}) {
		if !strings.HasPrefix(got, "CapabilityError: ") {
			t.Errorf("%s from a script: %q, want a CapabilityError", escapes[k], got)
		}
	}
	mu.Lock()
	for _, p := range paths {
		t.Errorf("an escape reached the server as %q", p)
	}
	paths = nil
	mu.Unlock()

	got := call(map[string]any{"urls": []string{s.URL + "/v1/endless", s.URL + "/v1/bigheader"}})
	if len(got) != 2 || !strings.HasPrefix(got[0], "CapabilityError: ") || !strings.Contains(got[0], "max_response") {
		t.Errorf("an endless answer: %q, want a CapabilityError naming max_response", got)
	}
	if len(got) == 2 && (!strings.HasPrefix(got[1], "TypeError: ") || strings.Contains(got[1], "0xc0")) {
		t.Errorf("a 100 KiB response header: %q, want a TypeError", got[1])
	}

	// 500 fetches at once: at most max_concurrent (3) are at the server,
	// the others are refused without waiting.
	done := make(chan []string, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var out []string
		_ = node.Call(ctx, to, map[string]any{"op": "many", "n": 500, "url": s.URL + "/v1/slow"}, &out)
		done <- out
	}()
	for inflight.Load() < 3 {
		time.Sleep(time.Millisecond) // until the three admitted are at the server
	}
	close(release)
	out := <-done
	ok, refused := 0, 0
	for _, r := range out {
		switch r {
		case "ok":
			ok++
		case "CapabilityError":
			refused++
		}
	}
	// Each fetch takes its slot on a goroutine of its own, so those that
	// get there after the release may pass: what is bounded is how many
	// are at the server at once.
	if ok+refused != 500 || ok < 3 || refused == 0 || peak.Load() != 3 {
		t.Errorf("500 fetches at once: %d ok, %d refused, peak %d in flight; want all settled, some refused, a peak of 3", ok, refused, peak.Load())
	}
	var pong string
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := node.Call(ctx, to, map[string]any{"op": "ping"}, &pong); err != nil || pong != "pong" {
		t.Fatalf("after the attacks the client answered %q (%v)", pong, err)
	}
}

// headerBombJS sends one 64 KiB string as the value of 64 headers: its
// heap holds 64 KiB, the request 4 MiB, 64 times the bound (before the
// bound, 2000 such headers put 131 MB on the wire; checking each value
// as it is appended takes about 1.5 ms of CPU, so 2000 came close to the
// turn's CPU limit on a loaded machine).
const headerBombJS = `
export async function receive(msg, ctx) {
	const v = "h".repeat(64 << 10);
	const hs = new Headers();
	for (let i = 0; i < 64; i++) hs.append("x-b" + i, v);
	try { const r = await ctx.env.api.fetch(msg, {headers: hs}); return "status " + r.status; }
	catch (e) { return e.name + ": " + e.message; }
}
`

// TestRedteam_OutgoingHeaderBomb: the host must bound an outgoing
// request's headers (as it bounds a response's at 64 KiB) instead of
// writing whatever a tenant's shared strings add up to at an allowed host.
func TestRedteam_OutgoingHeaderBomb(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- 0 // never dialled
			return
		}
		defer c.Close()
		n, _ := io.Copy(io.Discard, io.LimitReader(c, 256<<20))
		got <- n
	}()
	base := "http://" + ln.Addr().String()
	api, err := egress.New("api", egress.Policy{Allow: []string{base + "/"}, Timeout: 5 * time.Second,
		Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	if err != nil {
		t.Fatal(err)
	}
	node, to := grantedNode(t, "bomb", headerBombJS, api)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out string
	if err := node.Call(ctx, to, base+"/x", &out); err != nil {
		t.Fatal(err)
	}
	ln.Close()
	var n int64
	select {
	case n = <-got:
	case <-ctx.Done():
	}
	if n > 0 {
		t.Errorf("the header bomb put %d bytes on the wire to an allowed host (the script saw %q)", n, out)
	}
	if !strings.HasPrefix(out, "CapabilityError: ") || !strings.Contains(out, "headers") {
		t.Fatalf("the header bomb answered %q, want a CapabilityError naming the headers", out)
	}
}

// grantedNode starts a node whose one process, name, runs js holding api
// as its grant "api", and returns the node and a send capability to it.
func grantedNode(t *testing.T, name, js string, api *egress.Grant) (*actor.Node, *capability.Capability) {
	t.Helper()
	script, err := isolate.Compile(name+".js", []byte(js))
	if err != nil {
		t.Fatal(err)
	}
	node, err := actor.NewNode(actor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = node.Start(actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(10, time.Second), Children: []actor.ChildSpec{
		{Name: name, Script: script, Grants: []actor.GrantSpec{{Name: "api", Rights: capability.Send, Target: api}},
			Limits: isolate.Limits{CPU: 5 * time.Second}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.Shutdown(context.Background()); _ = node.Wait() })
	to, err := node.Capability(name, capability.Send)
	if err != nil {
		t.Fatal(err)
	}
	return node, to
}
