package egress_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/cloister-rt/cloister/egress"
)

func server(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/echo":
			w.Header().Set("X-Auth", r.Header.Get("Authorization"))
			b, _ := io.ReadAll(r.Body)
			_, _ = w.Write(b)
		case "/api/big":
			_, _ = w.Write([]byte(strings.Repeat("b", 4096)))
		case "/api/to-metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		case "/api/to-outside":
			http.Redirect(w, r, "http://example.invalid/x", http.StatusFound)
		default:
			_, _ = io.WriteString(w, "ok")
		}
	}))
	t.Cleanup(s.Close)
	return s
}

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

func TestAllowedRequest(t *testing.T) {
	s := server(t)
	g, err := egress.New("api", egress.Policy{Allow: []string{s.URL + "/api/"}, Methods: []string{"GET", "POST"},
		Networks: loopback, Headers: map[string]string{"Authorization": "Bearer secret"}, MaxResponse: 1024})
	if err != nil {
		t.Fatal(err)
	}
	res, err := g.Do(context.Background(), egress.Request{Method: "POST", URL: s.URL + "/api/echo", Body: []byte("hi"),
		Headers: [][2]string{{"Authorization", "forged"}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 200 || string(res.Body) != "hi" {
		t.Fatalf("%d %q", res.Status, res.Body)
	}
	auth := ""
	for _, h := range res.Headers {
		if h[0] == "x-auth" {
			auth = h[1]
		}
	}
	if auth != "Bearer secret" {
		t.Fatalf("the host's header: %q", auth)
	}
	if _, err := g.Do(context.Background(), egress.Request{URL: s.URL + "/api/big"}); !errors.Is(err, egress.ErrDenied) {
		t.Fatalf("over max_response: %v", err)
	}
}

func TestRefusals(t *testing.T) {
	s := server(t)
	open, err := egress.New("open", egress.Policy{Allow: []string{
		s.URL + "/", "http://127.0.0.1/", "http://localhost/", "http://169.254.169.254/", "http://10.0.0.1/",
		"http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/",
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{
		s.URL + "/api/x", // loopback, by address
		strings.Replace(s.URL, "127.0.0.1", "localhost", 1) + "/", // a name that resolves to loopback
		"http://169.254.169.254/latest/meta-data/",
		"http://10.0.0.1/",
		"http://[::1]/",
		"http://[::ffff:127.0.0.1]/",
		"http://0.0.0.0/",
	} {
		if _, err := open.Do(context.Background(), egress.Request{URL: url}); !errors.Is(err, egress.ErrDenied) {
			t.Errorf("%s: %v, want a refusal", url, err)
		}
	}
	// A redirect is checked again: against the allowlist, and when dialled.
	api, err := egress.New("api", egress.Policy{Allow: []string{s.URL + "/api/", "http://169.254.169.254/"}, Networks: loopback})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/to-metadata", "/api/to-outside"} {
		if _, err := api.Do(context.Background(), egress.Request{URL: s.URL + path}); !errors.Is(err, egress.ErrDenied) {
			t.Errorf("%s: %v, want a refusal", path, err)
		}
	}
	// Outside the prefixes, or another method.
	for _, r := range []egress.Request{
		{URL: s.URL + "/apix"},
		{URL: s.URL + "/"},
		{URL: "https" + strings.TrimPrefix(s.URL, "http") + "/api/x"},
		{Method: "DELETE", URL: s.URL + "/api/x"},
		{URL: "http://user@" + strings.TrimPrefix(s.URL, "http://") + "/api/x"},
	} {
		if _, err := api.Do(context.Background(), r); !errors.Is(err, egress.ErrDenied) {
			t.Errorf("%s %s: %v, want a refusal", r.Method, r.URL, err)
		}
	}
	if _, err := api.Do(context.Background(), egress.Request{URL: s.URL + "/api/x"}); err != nil {
		t.Fatalf("an allowed request: %v", err)
	}
}
