package examples_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/manifest"
)

func TestEgress(t *testing.T) {
	t.Setenv("QUOTE_API_KEY", "demo-key")
	m, err := manifest.Load("egress/app.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The example names a fixed port in both places; move both to a free one.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	m.HTTP.Listen = addr
	relay := &m.Root.Children[1]
	g := relay.Grants["upstream"]
	g.Allow = []string{"http://" + addr + "/quote"}
	relay.Grants["upstream"] = g
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
		_ = n.Shutdown(context.Background())
		_ = n.Wait()
	})
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) (int, string) {
		t.Helper()
		res, err := client.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	st, body := get("/relay")
	if st != 200 || !strings.Contains(body, `"keyed":true`) || !strings.Contains(body, `"quote":"Let it crash."`) {
		t.Fatalf("relay: %d %s", st, body)
	}
	if strings.Contains(body, "demo-key") {
		t.Fatalf("the host's key reached a tenant: %s", body)
	}
	// Outside the grant's prefix: refused, the relay answers 502.
	st, body = get("/relay?path=/relay")
	if st != 502 || !strings.Contains(body, "CapabilityError") {
		t.Fatalf("relay outside its grant: %d %s", st, body)
	}
}
