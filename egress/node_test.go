package egress_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/egress"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/supervisor"
)

const clientJS = `
export async function receive(msg, ctx) {
	if (msg.op === "global") return typeof globalThis.fetch;
	let grant = ctx.env[msg.grant];
	try {
		if (msg.narrow) grant = grant.attenuate({allow: msg.narrow});
		const res = await grant.fetch(msg.url, msg.init);
		return {status: res.status, text: await res.text(), auth: res.headers.get("x-auth"), url: res.url};
	} catch (e) {
		return {error: e.name, message: e.message};
	}
}
`

func TestFetchFromAScript(t *testing.T) {
	s := server(t)
	api, err := egress.New("api", egress.Policy{Allow: []string{s.URL + "/api/"}, Methods: []string{"GET", "POST"},
		Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, Headers: map[string]string{"Authorization": "Bearer from-env"}})
	if err != nil {
		t.Fatal(err)
	}
	strict, err := egress.New("strict", egress.Policy{Allow: []string{s.URL + "/", "http://169.254.169.254/"}})
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + ln.Addr().String()
	ln.Close()
	dead, err := egress.New("dead", egress.Policy{Allow: []string{closed + "/"}, Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	if err != nil {
		t.Fatal(err)
	}
	script, err := isolate.Compile("client.js", []byte(clientJS))
	if err != nil {
		t.Fatal(err)
	}
	node, err := actor.NewNode(actor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var denials atomic.Int64
	node.Subscribe(func(e actor.Event) {
		if d, ok := e.(actor.Denied); ok && d.Op == "fetch" {
			denials.Add(1)
		}
	})
	err = node.Start(actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(10, time.Second), Children: []actor.ChildSpec{
		{Name: "client", Script: script, Grants: []actor.GrantSpec{
			{Name: "api", Rights: capability.Send, Target: api},
			{Name: "strict", Rights: capability.Send, Target: strict},
			{Name: "dead", Rights: capability.Send, Target: dead},
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.Shutdown(context.Background()); _ = node.Wait() })
	to, _ := node.Capability("client", capability.Send)
	ask := func(msg map[string]any) map[string]any {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var out any
		if err := node.Call(ctx, to, msg, &out); err != nil {
			t.Fatal(err)
		}
		if m, ok := out.(map[string]any); ok {
			return m
		}
		return map[string]any{"value": out}
	}
	if got := ask(map[string]any{"op": "global"}); got["value"] != "undefined" {
		t.Fatalf("a global fetch: %v", got)
	}
	got := ask(map[string]any{"grant": "api", "url": s.URL + "/api/echo", "init": map[string]any{
		"method": "POST", "body": "ping", "headers": map[string]any{"authorization": "forged"}}})
	if got["status"] != int64(200) || got["text"] != "ping" || got["auth"] != "Bearer from-env" {
		t.Fatalf("an allowed fetch: %v", got)
	}
	before := denials.Load()
	for _, c := range []struct{ grant, url, want string }{
		{"api", s.URL + "/other", "CapabilityError"},                 // outside the prefixes
		{"api", "http://169.254.169.254/latest/", "CapabilityError"}, // outside the prefixes
		{"strict", s.URL + "/api/echo", "CapabilityError"},           // loopback, refused when dialled
		{"strict", "http://169.254.169.254/latest/", "CapabilityError"},
		{"api", s.URL + "/api/to-metadata", "CapabilityError"}, // a redirect outside the grant
		{"dead", closed + "/x", "TypeError"},                   // a network failure
	} {
		got := ask(map[string]any{"grant": c.grant, "url": c.url})
		if got["error"] != c.want {
			t.Errorf("%s %s: %v, want %s", c.grant, c.url, got, c.want)
		}
		if msg, _ := got["message"].(string); strings.Contains(msg, "from-env") {
			t.Errorf("the host's header leaked: %q", msg)
		}
	}
	// Events reach subscribers on a goroutine of their own.
	testkit.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if n := denials.Load() - before; n != 5 {
			return fmt.Errorf("%d denials counted, want 5", n)
		}
		return nil
	})
	// attenuate narrows the prefixes, never widens them.
	if got := ask(map[string]any{"grant": "api", "narrow": []string{s.URL + "/api/echo"}, "url": s.URL + "/api/echo"}); got["status"] != int64(200) {
		t.Fatalf("a narrowed grant, inside: %v", got)
	}
	if got := ask(map[string]any{"grant": "api", "narrow": []string{s.URL + "/api/echo"}, "url": s.URL + "/api/big"}); got["error"] != "CapabilityError" {
		t.Fatalf("a narrowed grant, outside: %v", got)
	}
	if got := ask(map[string]any{"grant": "api", "narrow": []string{"https://example.com/"}, "url": "https://example.com/"}); got["error"] != "CapabilityError" {
		t.Fatalf("widening: %v", got)
	}
	p, _ := node.Lookup("client")
	if p.Restarts() != 0 || p.Status() != actor.StatusRunning {
		t.Fatalf("the client: %d restarts, %s", p.Restarts(), p.Status())
	}
}
