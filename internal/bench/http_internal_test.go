package bench

import "testing"

// BenchmarkHTTPJS sends b.N hello-world requests through the gateway to a
// script's fetch handler, 16 clients at once; BenchmarkHTTPGo the same to a
// plain Go handler. Profile them with -cpuprofile.
func BenchmarkHTTPJS(b *testing.B) { benchHTTP(b, serveJS) }

func BenchmarkHTTPGo(b *testing.B) { benchHTTP(b, serveGo) }

func benchHTTP(b *testing.B, serve func() (string, func(), error)) {
	url, stop, err := serve()
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	b.ResetTimer()
	rps, _, err := load(url, "GET", b.N, HTTPDefaults.Connections, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rps, "req/s")
}
