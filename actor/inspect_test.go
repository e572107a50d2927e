package actor_test

import (
	"fmt"
	"testing"
	"time"

	"cloister/isolate"
)

// An inspect() that inspects its own process (or a pair of processes
// inspecting each other) does not loop for ever: inspect() may not inspect.
func TestInspect_SelfInspectChainIsBounded(t *testing.T) {
	loop := worker(t, "loop", `
let n = 0;
export function receive(msg, ctx) {
  if (msg.go) { ctx.self.inspect().catch(() => {}); return 0; }
  return n;
}
export function inspect(ctx) { n++; ctx.self.inspect().catch(() => {}); return n; }`)
	f := start(t, isolate.Limits{}, loop)
	f.mustCall("loop", map[string]any{"go": true})
	time.Sleep(300 * time.Millisecond)
	n := f.mustCall("loop", map[string]any{})
	time.Sleep(300 * time.Millisecond)
	m := f.mustCall("loop", map[string]any{})
	if fmt.Sprint(n) != fmt.Sprint(m) {
		t.Fatalf("inspect() ran %v times, then %v times 300ms later: a self-inspect chain never ends (no call-depth limit)", n, m)
	}
}
