package debughttp_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cloister-rt/cloister/debughttp"
)

// TestDebug_HostHeader: the endpoint answers only to loopback hosts and the
// configured ones, so a page served under a name rebound to 127.0.0.1 gets
// nothing.
func TestDebug_HostHeader(t *testing.T) {
	for _, tt := range []struct {
		name  string
		hosts []string
		host  string
		want  int
	}{
		{"loopback IPv4", nil, "127.0.0.1:9090", http.StatusOK},
		{"loopback IPv4 elsewhere in 127/8", nil, "127.5.5.5", http.StatusOK},
		{"loopback IPv6", nil, "[::1]:9090", http.StatusOK},
		{"localhost", nil, "localhost:9090", http.StatusOK},
		{"localhost, odd case and a trailing dot", nil, "LocalHost.", http.StatusOK},
		{"a name under localhost", nil, "app.localhost:80", http.StatusOK},
		{"a rebound name", nil, "evil.example:9090", http.StatusMisdirectedRequest},
		{"a name that starts like loopback", nil, "127.0.0.1.evil.example", http.StatusMisdirectedRequest},
		{"a name that starts like localhost", nil, "localhost.evil.example", http.StatusMisdirectedRequest},
		{"no host", nil, "", http.StatusMisdirectedRequest},
		{"a LAN address not configured", nil, "192.168.1.5:9090", http.StatusMisdirectedRequest},
		{"the configured listen address", []string{"192.168.1.5"}, "192.168.1.5:9090", http.StatusOK},
		{"a configured name, any case", []string{"Debug.Example.COM"}, "debug.example.com:1", http.StatusOK},
		{"another name than the configured one", []string{"debug.example.com"}, "evil.example", http.StatusMisdirectedRequest},
		{"any host", []string{"*"}, "evil.example", http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := debughttp.Handler(debughttp.Config{Hosts: tt.hosts})
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Host = tt.host
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("GET / with Host %q = %d, want %d", tt.host, w.Code, tt.want)
			}
			if tt.want == http.StatusMisdirectedRequest {
				if body := w.Body.String(); !strings.Contains(body, "does not answer to host") || strings.Contains(body, "<title>") {
					t.Errorf("refusal body %q: want a clear message and no page", body)
				}
			}
		})
	}
}

// TestDebug_HostHeaderGuardsDataRoutes: a refused host gets no data from
// the open loopback routes.
func TestDebug_HostHeaderGuardsDataRoutes(t *testing.T) {
	f := start(t, debughttp.Config{Token: token})
	for _, path := range []string{"/debug/tree", "/metrics", "/ui/app.js"} {
		req, err := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "rebound.example"
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("GET %s as rebound.example = %d, want 421", path, resp.StatusCode)
		}
	}
}
