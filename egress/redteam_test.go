package egress_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"sync"
	"testing"

	"github.com/cloister-rt/cloister/egress"
)

// Hostile-tenant attacks on an HTTP grant's URL prefixes: a request that
// the grant lets through must reach a path under the prefix as the
// server will see it, dot segments resolved.

// escapes are URLs under the text of prefix "/v1/" whose path, once a
// server decodes and cleans it, leaves /v1/.
var escapes = []string{
	"/v1/../admin",
	"/v1/./../admin",
	"/v1/%2e%2e/admin",
	"/v1/%2E%2E/admin",
	"/v1/.%2e/admin",
	"/v1/%2e./admin",
	"/v1/..%2fadmin",
	"/v1/..%5cadmin",
	"/v1/..\\admin",
	"/v1/%2e%2e%2fadmin",
	"/v1/x/../../admin",
	"/v1/..",
	"/v1/..?q=1",
}

// TestRedteam_DotSegmentsLeavePrefix: no escape reaches the server with a
// path outside the prefix; each is refused as a denial instead.
func TestRedteam_DotSegmentsLeavePrefix(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.RequestURI)
		mu.Unlock()
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(s.Close)
	g, err := egress.New("api", egress.Policy{Allow: []string{s.URL + "/v1/"}, Networks: loopback, MaxConcurrent: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range escapes {
		_, err := g.Do(context.Background(), egress.Request{URL: s.URL + e})
		if !errors.Is(err, egress.ErrDenied) || !strings.Contains(err.Error(), s.URL+e) {
			t.Errorf("%s: %v, want a denial naming the URL", e, err)
		}
	}
	// Names with dots, and an encoded slash between names, stay allowed.
	for _, ok := range []string{"/v1/group%2Fproject", "/v1/a.b/...", "/v1/.well-known/x", "/v1/x..y"} {
		if res, err := g.Do(context.Background(), egress.Request{URL: s.URL + ok}); err != nil || res.Status != 200 {
			t.Errorf("%s: %v, want it allowed", ok, err)
		}
	}
	// Nor can a narrowed grant name a prefix that resolves outside.
	if _, err := g.Narrow([]string{s.URL + "/v1/../admin/"}); !errors.Is(err, egress.ErrDenied) {
		t.Errorf("attenuate to /v1/../admin/: %v, want a denial", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, uri := range seen {
		u, err := url.ParseRequestURI(uri)
		if err != nil {
			t.Errorf("the server got %q", uri)
			continue
		}
		// What a server that decodes %2F and resolves dot segments serves.
		p, _ := url.PathUnescape(u.EscapedPath())
		if c := path.Clean(p); c != "/v1" && !strings.HasPrefix(c, "/v1/") {
			t.Errorf("the server got %q, which is %q: outside the grant's prefix /v1/", uri, c)
		}
	}
}
