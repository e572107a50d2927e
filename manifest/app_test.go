package manifest_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
	"github.com/cloister-rt/cloister/manifest"
)

func TestApp_Options(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.js": okJS,
		"app.yaml": "debug: 127.0.0.1:9999\ndefaults:\n  limits: {cpu: 20ms, memory: 32MiB, stack: 300, message_bytes: 4KiB, timers: 7, " +
			"mailbox: 50, mailbox_bytes: 1MiB, mailbox_overflow: drop_oldest, outbox_bytes: 2MiB, processes: 40, call_depth: 9}\n" +
			head + workerA,
	})
	app, err := manifest.Open(filepath.Join(dir, "app.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := actor.Options{
		Limits:       isolate.Limits{CPU: 20 * time.Millisecond, Memory: 32 << 20, Stack: 300, MessageBytes: 4 << 10, Timers: 7},
		Mailbox:      mailbox.Limits{Messages: 50, Bytes: 1 << 20, Overflow: mailbox.DropOldest, OutboxBytes: 2 << 20},
		MaxProcesses: 40,
		MaxCallDepth: 9,
	}
	if got := app.Options(); !reflect.DeepEqual(got, want) {
		t.Errorf("Options() = %+v\nwant        %+v", got, want)
	}
	if got, want := app.Debug, "127.0.0.1:9999"; got != want {
		t.Errorf("Debug = %q, want %q", got, want)
	}
	if got := len(app.Root.Children); got != 1 || app.Root.Children[0].Script == nil {
		t.Errorf("root has %d children (%+v), want the compiled worker a", got, app.Root.Children)
	}
}

// TestApp_NodeWideLimitsReachTheNode starts a node the way every caller of
// Open does: a node-wide bound set under defaults must hold on that node.
func TestApp_NodeWideLimitsReachTheNode(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.js":     okJS,
		"app.yaml": "defaults:\n  limits: {processes: 2}\n" + head + workerA + "    - name: b\n      script: a.js\n",
	})
	app, err := manifest.Open(filepath.Join(dir, "app.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := actor.NewNode(app.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = n.Shutdown(context.Background()) }()
	err = n.Start(app.Root)
	if !errors.Is(err, isolate.ErrTooManyProcesses) {
		t.Fatalf("Start of 3 processes under processes: 2 = %v, want ErrTooManyProcesses", err)
	}
}

func TestOpen_Errors(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"bad.yaml":     head + workerA + "      scirpt: b.js\n",
		"missing.yaml": head + "    - name: a\n      script: gone.js\n",
	})
	for _, tt := range []struct{ file, want string }{
		{"bad.yaml", `bad.yaml: line 6: a: unknown field "scirpt"`},
		{"missing.yaml", "missing.yaml:4: a:"},
		{"nothing.yaml", "nothing.yaml"},
	} {
		_, err := manifest.Open(filepath.Join(dir, tt.file))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%s) = %v, want an error containing %q", tt.file, err, tt.want)
		}
	}
}

func TestOpenScript(t *testing.T) {
	dir := writeFiles(t, map[string]string{"hello.js": okJS, "broken.js": "export function receive( {"})
	app, err := manifest.OpenScript(filepath.Join(dir, "hello.js"))
	if err != nil {
		t.Fatal(err)
	}
	if !app.Root.IsSupervisor() || len(app.Root.Children) != 1 || app.Root.Children[0].Name != "hello" {
		t.Fatalf("root %+v, want a supervisor over one worker named hello", app.Root)
	}
	if !reflect.DeepEqual(app.Options(), actor.Options{}) || app.Debug != "" {
		t.Errorf("a lone script sets options %+v and debug %q, want none", app.Options(), app.Debug)
	}
	if _, err := manifest.OpenScript(filepath.Join(dir, "broken.js")); err == nil || !strings.Contains(err.Error(), "broken.js") {
		t.Errorf("OpenScript(broken.js) = %v, want an error naming the file", err)
	}
}

// TestParse_SyntaxErrorLine: the yaml parser names the line where the
// enclosing block began; the error must name the line at fault.
func TestParse_SyntaxErrorLine(t *testing.T) {
	for _, tt := range []struct{ name, src, want string }{
		{"indented too little", head + workerA + "     limits: {cpu: 5ms}\n", "line 6: did not find expected '-' indicator"},
		{"dedented into the parent", head + workerA + "    limits: {cpu: 5ms}\n  x: [\n", "line 6: did not find expected '-' indicator"},
		{"a tab", head + workerA + "\t  limits: {cpu: 5ms}\n", "line 6: found a tab character that violates indentation"},
		{"a flow never closed", head + "    - {name: a, script: a.js\n    - name: b\n", "line 4: did not find expected ',' or '}'"},
		{"on the first line", "root: [\n", "line 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := manifest.Parse([]byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.HasPrefix(err.Error(), "yaml:") {
				t.Fatalf("Parse = %v, want an error with %q", err, tt.want)
			}
		})
	}
}
