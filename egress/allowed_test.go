package egress_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cloister-rt/cloister/egress"
)

// oracleAllowed is the allowlist check as it was written before prefixes
// were parsed once (each URL and prefix through http.NewRequest on every
// call): the reference the faster check must agree with.
func oracleAllowed(allow []string, u string) bool {
	dot := func(u string) bool {
		r, err := http.NewRequest("GET", u, nil)
		if err != nil {
			return false
		}
		for _, seg := range strings.Split(r.URL.EscapedPath(), "/") {
			if d, err := url.PathUnescape(seg); err == nil {
				seg = d
			}
			for _, part := range strings.FieldsFunc(seg, func(c rune) bool { return c == '/' || c == '\\' }) {
				if part == "." || part == ".." {
					return true
				}
			}
		}
		return false
	}
	r, err := http.NewRequest("GET", u, nil)
	if err != nil || r.URL.User != nil || dot(u) {
		return false
	}
	norm := strings.ToLower(r.URL.Scheme) + "://" + strings.ToLower(r.URL.Host) + r.URL.RequestURI()
	for _, a := range allow {
		p, _ := http.NewRequest("GET", a, nil)
		pre := strings.ToLower(p.URL.Scheme) + "://" + strings.ToLower(p.URL.Host) + p.URL.RequestURI()
		if strings.HasSuffix(a, "/") || p.URL.Path == "" || p.URL.Path == "/" {
			if strings.HasPrefix(norm, strings.TrimSuffix(pre, "/")+"/") || norm == strings.TrimSuffix(pre, "/") {
				return true
			}
			continue
		}
		if norm == pre || strings.HasPrefix(norm, pre+"/") || strings.HasPrefix(norm, pre+"?") {
			return true
		}
	}
	return false
}

// TestAllowedAgreesWithOracle: for every prefix and URL of a list of
// awkward ones, a grant allows the URL exactly when the reference does.
func TestAllowedAgreesWithOracle(t *testing.T) {
	prefixes := []string{
		"https://api.example.com/v1", "https://api.example.com/v1/", "https://API.Example.com:8443/v2",
		"https://api.example.com", "https://api.example.com/", "https://api.example.com:/v3",
		"http://[::1]:80/x", "https://api.example.com/v1?x=1", "https://api.example.com/a%2Fb",
		"https://api.example.com/sp%20ace/", "https://user@api.example.com/u/",
	}
	urls := []string{
		"https://api.example.com/v1", "https://api.example.com/v1/", "https://api.example.com/v1/x",
		"https://api.example.com/v10", "https://api.example.com/v1?q", "https://api.example.com/v1/?q",
		"https://API.EXAMPLE.COM/v1/x", "https://api.example.com:/v1/x", "https://api.example.com:443/v1/x",
		"https://api.example.com:8443/v2/y", "https://api.example.com:8443/V2/y", "http://api.example.com/v1/x",
		"https://api.example.com", "https://api.example.com?x", "https://api.example.com/v3", "https://api.example.com/v3/z",
		"http://[::1]:80/x/y", "http://[::1]/x", "https://api.example.com/v1?x=1&y", "https://api.example.com/v1?x=12",
		"https://api.example.com/a%2Fb/c", "https://api.example.com/a/b/c", "https://api.example.com/sp ace/x",
		"https://api.example.com/sp%20ace/x", "https://u@api.example.com/v1/x", "https://api.example.com/u/x",
		"https://api.example.com/v1/../x", "https://api.example.com/v1/%2e%2e/x", "https://api.example.com/v1/..%5cx",
		"https://api.example.com/v1/a..b", "https://api.example.com/v1/.well-known", "https://api.example.com/v1/x\\..\\y",
		"https://api.example.com/v1/%zz", "https://api.example.com/v1/%2F..", "https://api.example.com/v1/x#frag",
		"://bad", "https://api.example.com/v1/\x7f", "api.example.com/v1/x", "", "https://[::1/x",
	}
	for _, p := range prefixes {
		g, err := egress.New("g", egress.Policy{Allow: []string{p}})
		if err != nil {
			t.Fatalf("prefix %q: %v", p, err)
		}
		for _, u := range urls {
			want := oracleAllowed([]string{p}, u)
			if got := g.Allowed("GET", u) == nil; got != want {
				t.Errorf("prefix %q, URL %q: allowed %v, the reference says %v", p, u, got, want)
			}
		}
	}
	g, err := egress.New("all", egress.Policy{Allow: prefixes})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, u := range urls {
		want := oracleAllowed(prefixes, u)
		if want {
			n++
		}
		if got := g.Allowed("GET", u) == nil; got != want {
			t.Errorf("all prefixes, URL %q: allowed %v, the reference says %v", u, got, want)
		}
	}
	if n < 10 || n == len(urls) {
		t.Fatalf("%d of %d URLs allowed by all the prefixes: the list tests too little", n, len(urls))
	}
}
