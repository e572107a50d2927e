package isolate_test

import (
	"testing"

	"github.com/cloister-rt/cloister/isolate"
)

// BenchmarkFetchTurn is one fetch turn of a hello-world handler, without
// the network: the isolate's share of a request.
func BenchmarkFetchTurn(b *testing.B) {
	t := &testing.T{}
	iso, _ := newIsolate(t, `export function fetch(req) { return new Response("hello, world\n"); }`, isolate.Limits{})
	env := envelope(t, isolate.HTTPRequest{Method: "GET", URL: "http://127.0.0.1:8080/",
		Headers: [][2]string{{"User-Agent", "Go-http-client/1.1"}, {"Accept-Encoding", "gzip"}}})
	b.ReportAllocs()
	for b.Loop() {
		var ok bool
		iso.Fetch(env, 1, func(o isolate.Outcome) { ok = o.Reply != nil })
		if !ok {
			b.Fatal("no reply")
		}
	}
}
