package egress_test

import (
	"testing"

	"github.com/cloister-rt/cloister/egress"
)

// BenchmarkAllowed is the allowlist check of one fetch: a grant of four
// prefixes, a URL under the last one.
func BenchmarkAllowed(b *testing.B) {
	g, err := egress.New("api", egress.Policy{Allow: []string{
		"https://auth.example.com/oauth/",
		"https://api.example.com/v1/users",
		"https://API.example.com:8443/v2",
		"https://api.example.com/v3/",
	}, Methods: []string{"GET", "POST"}})
	if err != nil {
		b.Fatal(err)
	}
	const url = "https://api.example.com/v3/items/42/parts?limit=10&after=abc"
	if err := g.Allowed("POST", url); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := g.Allowed("POST", url); err != nil {
			b.Fatal(err)
		}
	}
}
