package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
)

const devManifest = `root:
  strategy: one_for_one
  intensity: 1
  children:
    - name: svc
      script: svc.js
`

// devScript answers get with its version and the incs it has seen; hold
// makes a turn that holds the mailbox, so that incs queue behind it.
func devScript(v int) string {
	return fmt.Sprintf(`let n = 0;
export async function receive(msg, ctx) {
  if (msg.type === "hold") await new Promise((resolve) => setTimeout(resolve, 3600000));
  if (msg.type === "inc") n++;
  if (msg.type === "get") return {v: %d, n};
}
`, v)
}

// devOutput collects a dev session's output; safe for concurrent writes.
type devOutput struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *devOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *devOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

type devVersion struct {
	V int `msgpack:"v"`
	N int `msgpack:"n"`
}

func TestDev_ReloadsEditedScriptsAndKeepsOldCodeOnErrors(t *testing.T) {
	dir := t.TempDir()
	app, script := filepath.Join(dir, "app.yaml"), filepath.Join(dir, "svc.js")
	write := func(path, src string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// An editor's atomic save: a temporary file renamed over the old one.
	save := func(path, src string) {
		t.Helper()
		tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".swp")
		write(tmp, src)
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(app, devManifest)
	write(script, devScript(1))

	ready := make(chan *actor.Node, 1)
	events := make(chan devEvent, 64)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &devOutput{}
	done := make(chan error, 1)
	go func() {
		done <- runDev(ctx, []string{app, "--debounce", "20ms", "--log-level", "error"}, &devOutput{}, stderr, devHooks{
			ready: func(n *actor.Node) { ready <- n },
			event: func(e devEvent) { events <- e },
		})
	}()
	var node *actor.Node
	select {
	case node = <-ready:
	case err := <-done:
		t.Fatalf("dev ended: %v\n%s", err, stderr)
	case <-time.After(time.Minute):
		t.Fatalf("dev did not start\n%s", stderr)
	}
	next := func() devEvent {
		t.Helper()
		select {
		case e := <-events:
			return e
		case <-time.After(time.Minute):
			t.Fatalf("no reload after a file change\n%s", stderr)
		}
		return devEvent{}
	}
	svc, err := node.Capability("svc", capability.All)
	if err != nil {
		t.Fatal(err)
	}
	get := func() devVersion {
		t.Helper()
		var v devVersion
		if err := node.Call(context.Background(), svc, map[string]any{"type": "get"}, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := get(); v.V != 1 {
		t.Fatalf("version %d at start", v.V)
	}

	// Messages queued behind a held turn are handled by the new code.
	for _, m := range []string{"hold", "inc", "inc"} {
		if err := node.Send(context.Background(), svc, map[string]any{"type": m}); err != nil {
			t.Fatal(err)
		}
	}
	p, _ := node.Lookup("svc")
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if p.MailboxDepth() != 2 {
			return fmt.Errorf("%d queued", p.MailboxDepth())
		}
		return nil
	})
	save(script, devScript(2))
	if e := next(); e.Err != nil || strings.Join(e.Restarted, ",") != "svc" {
		t.Fatalf("reload: %+v, want svc restarted", e)
	}
	if v := get(); v != (devVersion{V: 2, N: 2}) {
		t.Fatalf("after the save: %+v, want version 2 with the two queued incs", v)
	}
	if !strings.Contains(stderr.String(), "restarted svc (code_change)") {
		t.Errorf("stderr does not say what was restarted:\n%s", stderr)
	}

	// A script that does not compile is shown; the old code runs on.
	inc := p.Incarnation()
	write(script, "export function receive(msg {\n")
	e := next()
	var ce *isolate.CompileError
	if !errors.As(e.Err, &ce) || ce.Line != 1 {
		t.Fatalf("a broken save: %+v, want a compile error on line 1", e)
	}
	if !strings.Contains(stderr.String(), "svc.js:1:") || !strings.Contains(stderr.String(), "the old code keeps running") {
		t.Errorf("stderr does not show the compile error:\n%s", stderr)
	}
	if v := get(); v.V != 2 || p.Incarnation() != inc {
		t.Fatalf("after a broken save: version %d, incarnation %d (was %d)", v.V, p.Incarnation(), inc)
	}
	write(script, devScript(3))
	if e := next(); e.Err != nil || len(e.Restarted) != 1 {
		t.Fatalf("the fix: %+v", e)
	}
	if v := get(); v.V != 3 {
		t.Fatalf("after the fix: version %d", v.V)
	}

	// A manifest that does not load leaves the tree as it is.
	save(app, devManifest+"      grants: {x: {to: nowhere, rights: [send]}}\n")
	if e := next(); e.Err == nil || e.File != app {
		t.Fatalf("a broken manifest: %+v, want its error", e)
	}
	if v := get(); v.V != 3 {
		t.Fatalf("after a broken manifest: version %d", v.V)
	}
	// The code change restarts are no crashes: the root's intensity of 1 holds.
	if cr := p.Crashes(); len(cr) != 0 {
		t.Fatalf("crash reports %v", cr[0])
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("dev: %v", err)
	}
}
