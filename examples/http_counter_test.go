package examples_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/manifest"
)

func TestHTTPCounter(t *testing.T) {
	m, err := manifest.Load("http-counter/app.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m.HTTP.Listen = "127.0.0.1:0" // any free port
	app, err := m.App(isolate.NewCompiler())
	if err != nil {
		t.Fatal(err)
	}
	n, err := actor.NewNode(app.Options())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(app.Root); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		if err := n.Wait(); err != nil {
			t.Errorf("node ended with %v", err)
		}
	})
	base := "http://" + app.HTTP.Addr().String()
	client := &http.Client{Timeout: 10 * time.Second}
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	value := func(body string) int {
		t.Helper()
		var v struct{ Value int }
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		return v.Value
	}
	if st, body := do("GET", "/health", ""); st != 200 || !strings.Contains(body, `"ok":true`) {
		t.Fatalf("health: %d %q", st, body)
	}
	if st, body := do("POST", "/counters/apples", `{"by": 3}`); st != 200 || value(body) != 3 {
		t.Fatalf("apples +3: %d %q", st, body)
	}
	if st, body := do("POST", "/counters/apples", ""); st != 200 || value(body) != 4 {
		t.Fatalf("apples +1: %d %q", st, body)
	}
	if st, body := do("POST", "/counters/pears", `{"by": 10}`); st != 200 || value(body) != 10 {
		t.Fatalf("pears: %d %q", st, body)
	}
	if st, body := do("GET", "/counters/apples", ""); st != 200 || body != `{"name":"apples","value":4}` {
		t.Fatalf("apples: %d %q", st, body)
	}
	if _, ok := n.Lookup("counters/apples"); !ok {
		t.Fatal("no process counters/apples")
	}
	if st, _ := do("POST", "/counters/apples", `{"by": "x"}`); st != 400 {
		t.Fatalf("a bad increment: %d", st)
	}
	if st, _ := do("GET", "/counters/"+strings.Repeat("x", 100), ""); st != 400 {
		t.Fatalf("a name over the key limit: %d", st)
	}
	if st, _ := do("DELETE", "/counters/apples", ""); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if _, ok := n.Lookup("counters/apples"); ok {
			return fmt.Errorf("counters/apples still exists")
		}
		return nil
	})
	if st, body := do("GET", "/counters/apples", ""); st != 200 || value(body) != 0 {
		t.Fatalf("apples after delete: %d %q", st, body)
	}
}
