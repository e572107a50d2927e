package debughttp_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/debughttp"
	"github.com/cloister-rt/cloister/internal/testkit/testnode"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/supervisor"
)

// redteam2EvilJS crashes with markup in its error's name, message and
// stack, and answers inspect() with markup and a string that grows six
// times when written as JSON (a control character is \u0001 there).
const redteam2EvilJS = `
export function receive(msg, ctx) {
  if (msg === "crash") {
    const e = new Error("</script><script>alert(1)</script>\u2028" + "z".repeat(100000));
    e.name = "<img src=x onerror=alert(2)>";
    Object.defineProperty(e, "stack", { get() { return "<svg onload=alert(3)>" + "s".repeat(1 << 20); } });
    throw e;
  }
  return "ok";
}
export function inspect() {
  return { html: "</script><script>alert(4)</script>", ctl: "\u0001".repeat((1 << 20) - 200) };
}`

// TestRedteam2_DebugViewOfAHostileTenant: a tenant's crash reports and
// inspect() answer reach the operator's page only as JSON, with markup
// escaped and behind the page's content security policy, and their size
// is bounded: ten crash reports in the details, and the state at most a
// few times message_bytes (1 MiB).
func TestRedteam2_DebugViewOfAHostileTenant(t *testing.T) {
	node := testnode.New(t, actor.Options{})
	if err := node.Start(actor.ChildSpec{
		Name:     "root",
		Strategy: supervisor.NewOneForOne(1000, time.Second),
		// The CPU limit is not under test: room for the megabyte strings
		// under the race detector.
		Children: []actor.ChildSpec{{Name: "evil", Script: testnode.Script(t, "evil.js", []byte(redteam2EvilJS)), Limits: isolate.Limits{CPU: 20 * time.Second}}},
	}); err != nil {
		t.Fatal(err)
	}
	f := &fixture{node: node}
	f.srv = httptest.NewServer(debughttp.Handler(debughttp.Config{Node: node, Token: token}))
	t.Cleanup(f.srv.Close)

	const crashes = 15
	for k := 1; k <= crashes; k++ {
		f.waitRunning(t, "evil", uint64(k))
		f.send(t, "evil", "crash")
	}
	f.waitRunning(t, "evil", crashes+1)
	id := f.id(t, "evil")

	for _, path := range []string{fmt.Sprintf("/debug/processes/%d", id), fmt.Sprintf("/debug/processes/%d/state", id), "/debug/tree", "/debug/processes"} {
		req, _ := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body, size := string(raw), len(raw)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d %.200s", path, resp.StatusCode, body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("GET %s: Content-Type %q", path, ct)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("GET %s: headers %v", path, resp.Header)
		}
		for _, raw := range []string{"<script", "<img", "<svg", "\u2028"} {
			if strings.Contains(body, raw) {
				t.Errorf("GET %s: the body holds %q unescaped", path, raw)
			}
		}
		limit := 256 << 10 // the details, the tree, the table
		if strings.HasSuffix(path, "/state") {
			limit = 8 << 20 // 6 bytes of JSON for each byte of a 1 MiB message, at worst
		}
		if size > limit {
			t.Errorf("GET %s: %d bytes, want at most %d", path, size, limit)
		}
		t.Logf("GET %s: %d bytes", path, size)
	}
	p, _ := node.Lookup("evil")
	if got := len(p.Crashes()); got > 10 {
		t.Errorf("%d crash reports kept, want at most 10", got)
	}
}
