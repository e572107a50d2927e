package debughttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/debughttp"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/metrics"
	"github.com/cloister-rt/cloister/supervisor"

	"github.com/vmihailenco/msgpack/v5"
)

const token = "s3cret-token"

// lockedBuffer is a bytes.Buffer safe for the node's concurrent log writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fixture is a running node with the debug endpoint in front of it.
type fixture struct {
	node *actor.Node
	srv  *httptest.Server
	log  *lockedBuffer
}

func script(t *testing.T, name string) *isolate.Script {
	t.Helper()
	src, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := isolate.Compile(name, src)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// start runs this tree: counter (with inspect), plain (without), spinner
// (an inspect that never returns) and pool/member under a nested
// supervisor; intensity is high so storms do not fail the root.
func start(t *testing.T, cfg debughttp.Config) *fixture {
	t.Helper()
	f := &fixture{log: &lockedBuffer{}}
	node, err := actor.NewNode(actor.Options{
		Logger: slog.New(slog.NewTextHandler(f.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Limits: isolate.Limits{CPU: 100 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(node)
	args, _ := msgpack.Marshal(map[string]any{"start": 10})
	root := actor.ChildSpec{
		Name:     "root",
		Strategy: supervisor.NewOneForOne(1000, time.Second),
		Children: []actor.ChildSpec{
			{Name: "counter", Script: script(t, "counter.js"), Args: args},
			{Name: "plain", Script: script(t, "plain.js"), Grants: []actor.GrantSpec{
				{Name: "counter", To: "counter", Rights: capability.Send | capability.Monitor},
			}},
			{Name: "spinner", Script: script(t, "spinner.js")},
			{Name: "pool", Strategy: supervisor.NewOneForOne(1000, time.Second), Children: []actor.ChildSpec{
				{Name: "member", Script: script(t, "plain.js")},
			}},
		},
	}
	if err := node.Start(root); err != nil {
		t.Fatal(err)
	}
	f.node = node
	cfg.Node = node
	cfg.Metrics = m.Handler()
	f.srv = httptest.NewServer(debughttp.Handler(cfg))
	t.Cleanup(func() {
		f.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := node.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return f
}

func (f *fixture) id(t *testing.T, path string) uint64 {
	t.Helper()
	p, ok := f.node.Lookup(path)
	if !ok {
		t.Fatalf("no process at %q", path)
	}
	return p.ID()
}

// send delivers a message to the process at path as the operator would.
func (f *fixture) send(t *testing.T, path string, msg any) {
	t.Helper()
	c, err := f.node.Capability(path, capability.Send)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.node.Send(context.Background(), c, msg); err != nil {
		t.Fatal(err)
	}
}

// do makes a request and returns the status and body.
func (f *fixture) do(t *testing.T, method, path, tok string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// getJSON GETs path, wants 200, and decodes the body into v.
func (f *fixture) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	code, body := f.do(t, http.MethodGet, path, token)
	if code != http.StatusOK {
		t.Fatalf("GET %s = %d %s", path, code, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
}

func checkFor(t *testing.T, timeout, interval time.Duration, f func() error) {
	t.Helper()
	testkit.CheckFor(t, timeout, interval, f)
}

// waitRunning waits until the process at path runs incarnation >= inc.
func (f *fixture) waitRunning(t *testing.T, path string, inc uint64) {
	t.Helper()
	p, _ := f.node.Lookup(path)
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if p.Status() != actor.StatusRunning || p.Incarnation() < inc {
			return fmt.Errorf("%s is %s in incarnation %d, want running in %d", path, p.Status(), p.Incarnation(), inc)
		}
		return nil
	})
}

func contains(s string, subs ...string) error {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return fmt.Errorf("%q not in:\n%s", sub, s)
		}
	}
	return nil
}
