package manifest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/manifest"
)

// openWithHTTP opens a manifest of one fetch worker, api, and the given
// http: section.
func openWithHTTP(t *testing.T, http string) (*manifest.App, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "api.js"), []byte("export function fetch() { return new Response('x'); }"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := "root:\n  strategy: one_for_one\n  children:\n    - {name: api, script: api.js}\n" + http
	if err := os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return manifest.Open(filepath.Join(dir, "app.yaml"))
}

// TestHTTPBodyBounds: body_timeout and body_buffer reach the gateway, and
// a body_buffer under max_body is refused with its line.
func TestHTTPBodyBounds(t *testing.T) {
	open := func(http string) (*manifest.App, error) { return openWithHTTP(t, http) }
	app, err := open("http: {listen: '127.0.0.1:0', body_timeout: 3s, body_buffer: 8MiB, routes: [{pattern: /, to: api}]}\n")
	if err != nil {
		t.Fatal(err)
	}
	if c := app.HTTP.Config(); c.BodyTimeout != 3*time.Second || c.BodyBuffer != 8<<20 {
		t.Fatalf("body_timeout %v, body_buffer %d", c.BodyTimeout, c.BodyBuffer)
	}
	_, err = open("http: {listen: '127.0.0.1:0', max_body: 2MiB, body_buffer: 1MiB, routes: [{pattern: /, to: api}]}\n")
	if err == nil || !strings.Contains(err.Error(), "body_buffer") || !strings.Contains(err.Error(), "app.yaml:5:") {
		t.Fatalf("a body_buffer under max_body: %v", err)
	}
}

// TestHTTPConnBounds: max_connections and max_connections_per_ip reach the
// gateway; a per-address bound over the total, or a negative one, is
// refused with its line.
func TestHTTPConnBounds(t *testing.T) {
	app, err := openWithHTTP(t, "http: {listen: '127.0.0.1:0', max_connections: 500, max_connections_per_ip: 20, routes: [{pattern: /, to: api}]}\n")
	if err != nil {
		t.Fatal(err)
	}
	if c := app.HTTP.Config(); c.MaxConns != 500 || c.MaxConnsPerIP != 20 {
		t.Fatalf("max_connections %d, max_connections_per_ip %d", c.MaxConns, c.MaxConnsPerIP)
	}
	for _, bad := range []string{"max_connections: 10, max_connections_per_ip: 11", "max_connections: -1"} {
		_, err := openWithHTTP(t, "http: {listen: '127.0.0.1:0', "+bad+", routes: [{pattern: /, to: api}]}\n")
		if err == nil || !strings.Contains(err.Error(), "max_connections") || !strings.Contains(err.Error(), "app.yaml:5:") && !strings.Contains(err.Error(), "line 5:") {
			t.Fatalf("%s: %v", bad, err)
		}
	}
}
