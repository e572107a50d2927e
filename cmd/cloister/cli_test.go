package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/internal/testkit"
)

func checkFor(t *testing.T, timeout, interval time.Duration, f func() error) {
	t.Helper()
	testkit.CheckFor(t, timeout, interval, f)
}

// start runs `cloister args...` until the returned cancel is called.
func start(t *testing.T, args ...string) (stderr *testkit.LockedBuffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr = &testkit.LockedBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, &testkit.LockedBuffer{}, stderr) }()
	var once sync.Once
	var result error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case result = <-done:
			case <-time.After(20 * time.Second):
				result = fmt.Errorf("run did not return after cancel")
			}
		})
		return result
	}
	t.Cleanup(func() { _ = stop() })
	return stderr, stop
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRun_ScriptUntilSignalRunsTerminate(t *testing.T) {
	dir := t.TempDir()
	script := writeFile(t, dir, "hello.js", `
export function init() { console.log("hello started"); }
export function receive() {}
export function terminate(reason) { console.log("hello terminating: " + reason); }`)
	stderr, stop := start(t, "run", script)
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if !strings.Contains(stderr.String(), "hello started") {
			return fmt.Errorf("not started yet:\n%s", stderr)
		}
		return nil
	})
	if err := stop(); err != nil {
		t.Fatalf("run returned %v after the signal, want nil (exit 0)", err)
	}
	if !strings.Contains(stderr.String(), "hello terminating: shutdown") {
		t.Fatalf("terminate did not run:\n%s", stderr)
	}
}

func TestRun_DebugTree(t *testing.T) {
	stderr, _ := start(t, "run", "--debug", "127.0.0.1:0", "../../examples/counter/app.yaml")
	var addr string
	re := regexp.MustCompile(`debug endpoint listening" addr=(\S+)`)
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		m := re.FindStringSubmatch(stderr.String())
		if m == nil {
			return fmt.Errorf("no listening line:\n%s", stderr)
		}
		addr = m[1]
		return nil
	})
	var tree struct {
		Kind     string
		Children []struct {
			Name, Path, Status, Kind string
			ID                       uint64
			Restarts                 uint64
			MailboxDepth             *int64 `json:"mailbox_depth"`
		}
	}
	resp, err := http.Get("http://" + addr + "/debug/tree")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&tree); err != nil {
		t.Fatal(err)
	}
	if len(tree.Children) != 2 || tree.Children[0].Name != "counter" || tree.Children[1].Path != "client" ||
		tree.Children[0].MailboxDepth == nil || tree.Children[0].ID == 0 || tree.Kind != "supervisor" {
		t.Fatalf("tree = %+v", tree)
	}
	post, err := http.Post("http://"+addr+"/debug/tree", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /debug/tree = %d, want 405", post.StatusCode)
	}
}

func TestRun_RefusesNonLoopbackDebug(t *testing.T) {
	err := run(context.Background(), []string{"run", "--debug", "0.0.0.0:0", "../../examples/counter/app.yaml"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("err = %v, want a loopback refusal", err)
	}
}

func TestRun_RootFailureExitsNonZero(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "bad.js", `export function init() { setTimeout(() => { throw new Error("no config"); }, 0); } export function receive() {}`)
	app := writeFile(t, dir, "app.yaml", "root:\n  strategy: one_for_one\n  intensity: 1\n  children:\n    - name: bad\n      script: bad.js\n")
	errc := make(chan error, 1)
	stderr := &testkit.LockedBuffer{}
	go func() { errc <- run(context.Background(), []string{"run", app}, &bytes.Buffer{}, stderr) }()
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "reached_max_restart_intensity") {
			t.Fatalf("err = %v, want the root's failure", err)
		}
		if !strings.Contains(stderr.String(), "no config") {
			t.Errorf("the log does not say why:\n%s", stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not exit after the root failed")
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "ok.js", "export function receive() {}")
	writeFile(t, dir, "broken.js", "export function receive() {\n  let = ;\n}")
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no command":        {nil, "bad usage"},
		"unknown command":   {[]string{"frobnicate"}, "unknown command"},
		"missing script":    {[]string{"run", filepath.Join(dir, "nope.js")}, "nope.js"},
		"compile error":     {[]string{"run", filepath.Join(dir, "broken.js")}, "broken.js:2:"},
		"unknown field":     {[]string{"check", writeFile(t, dir, "a.yaml", "root:\n  strategy: one_for_one\n  children:\n    - name: x\n      script: ok.js\n      colour: red\n")}, "line 6"},
		"duplicate name":    {[]string{"check", writeFile(t, dir, "b.yaml", "root:\n  strategy: one_for_one\n  children:\n    - {name: x, script: ok.js}\n    - {name: x, script: ok.js}\n")}, "duplicate name"},
		"unknown grant":     {[]string{"check", writeFile(t, dir, "c.yaml", "root:\n  strategy: one_for_one\n  children:\n    - name: x\n      script: ok.js\n      grants: {y: {to: ghost, rights: [send]}}\n")}, "ghost"},
		"syntax error line": {[]string{"check", writeFile(t, dir, "e.yaml", "root:\n  strategy: one_for_one\n  children:\n    - name: x\n      script: ok.js\n     limits: {cpu: 5ms}\n")}, "e.yaml: line 6: did not find"},
		"node-wide limits":  {[]string{"run", writeFile(t, dir, "f.yaml", "defaults:\n  limits: {processes: 2}\nroot:\n  strategy: one_for_one\n  children:\n    - {name: x, script: ok.js}\n    - {name: y, script: ok.js}\n")}, "too many processes"},
		"compile in check":  {[]string{"check", writeFile(t, dir, "d.yaml", "root:\n  strategy: one_for_one\n  children:\n    - {name: x, script: broken.js}\n")}, "broken.js:2:"},
	} {
		t.Run(name, func(t *testing.T) {
			err := run(context.Background(), tc.args, &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestCheck_Examples(t *testing.T) {
	matches, _ := filepath.Glob("../../examples/*/app.yaml")
	for _, m := range matches {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"check", m}, &out, &bytes.Buffer{}); err != nil {
			t.Errorf("check %s: %v", m, err)
		}
		if !strings.Contains(out.String(), "ok") {
			t.Errorf("check %s printed %q", m, out.String())
		}
		// Every example but embed runs with cloister run alone: none
		// needs a Go actor from an embedding program (the http: gateway
		// is the manifest's own).
		if filepath.Base(filepath.Dir(m)) != "embed" && strings.Contains(out.String(), "note:") {
			t.Errorf("check %s printed %q", m, out.String())
		}
	}
}

// A signal during a long first start stops the node at once: the child
// whose init is running finishes it (its terminate runs), no later child
// starts, and run returns as from a clean stop.
func TestRun_SignalDuringFirstStartStopsTheNode(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "slow.js", `
export async function init() {
  console.log("slow init");
  await new Promise((resolve) => setTimeout(resolve, 3600000));
}
export function receive() {}
export function terminate(reason) { console.log("slow terminating: " + reason); }`)
	writeFile(t, dir, "later.js", `
export function init() { console.log("later init"); }
export function receive() {}`)
	app := writeFile(t, dir, "app.yaml", `root:
  strategy: one_for_one
  children:
    - name: slow
      script: slow.js
      start_timeout: 1h
    - name: later
      script: later.js
`)
	stderr, stop := start(t, "run", app)
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if !strings.Contains(stderr.String(), "slow init") {
			return fmt.Errorf("no init yet:\n%s", stderr)
		}
		return nil
	})
	if err := stop(); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	out := stderr.String()
	for _, want := range []string{"stopping the node during its start", "node stopped"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in the log:\n%s", want, out)
		}
	}
	if strings.Contains(out, "later init") || strings.Contains(out, "node started") {
		t.Errorf("the start went on after the signal:\n%s", out)
	}
}
