package gateway

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// benchBody is a small JSON request body, the common case.
const benchBody = `{"user":"ada","items":[1,2,3,4,5,6,7,8],"note":"a request body of a typical size for an API call"}`

// benchRequests returns a request whose next calls give it its body
// afresh.
func benchRequests() (http.ResponseWriter, *http.Request, func()) {
	src := strings.NewReader(benchBody)
	body := io.NopCloser(src)
	r := httptest.NewRequest("POST", "/x", src)
	return httptest.NewRecorder(), r, func() { src.Reset(benchBody); r.Body = body }
}

// BenchmarkBodyRead is readBody: budget, stall watch, a buffer grown as
// bytes arrive.
func BenchmarkBodyRead(b *testing.B) {
	hold := bodyHold{b: &budget{max: 1 << 30, stats: &bodyCounters{}}}
	w, r, next := benchRequests()
	b.ReportAllocs()
	for range b.N {
		next()
		if body, err := readBody(w, r, DefaultMaxBody, DefaultBodyTimeout, &hold); err != nil || len(body) != len(benchBody) {
			b.Fatal(err)
		}
		hold.release()
	}
}

// BenchmarkBodyReadAll is what the gateway did before: io.ReadAll under
// max_body, for comparison.
func BenchmarkBodyReadAll(b *testing.B) {
	w, r, next := benchRequests()
	b.ReportAllocs()
	for range b.N {
		next()
		if body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, DefaultMaxBody)); err != nil || len(body) != len(benchBody) {
			b.Fatal(err)
		}
	}
}

// TestReadBodyCharges: the buffer is charged as it grows, never past the
// declared length, and a body over max_body is refused.
func TestReadBodyCharges(t *testing.T) {
	stats := &bodyCounters{}
	hold := bodyHold{b: &budget{max: 1 << 20, stats: stats}}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/x", strings.NewReader(strings.Repeat("a", 3000)))
	body, err := readBody(w, r, 4096, time.Minute, &hold)
	if err != nil || len(body) != 3000 || hold.n != int64(cap(body)) || cap(body) != 3000 {
		t.Fatalf("a 3000-byte body: len %d cap %d charged %d (%v)", len(body), cap(body), hold.n, err)
	}
	hold.release()
	// No declared length: the buffer doubles from 512 up to max_body.
	r = httptest.NewRequest("POST", "/x", io.NopCloser(strings.NewReader(strings.Repeat("a", 3000))))
	r.ContentLength = -1
	body, err = readBody(w, r, 4096, time.Minute, &hold)
	if err != nil || len(body) != 3000 || hold.n != 4096 || cap(body) != 4096 {
		t.Fatalf("a 3000-byte chunked body: len %d cap %d charged %d (%v)", len(body), cap(body), hold.n, err)
	}
	hold.release()
	r = httptest.NewRequest("POST", "/x", io.NopCloser(strings.NewReader(strings.Repeat("a", 5000))))
	r.ContentLength = -1
	var tooBig *http.MaxBytesError
	if _, err := readBody(w, r, 4096, time.Minute, &hold); !errors.As(err, &tooBig) {
		t.Fatalf("a body over max_body: %v", err)
	}
	hold.release()
	if stats.bytes.Load() != 0 || stats.reading.Load() != 0 {
		t.Fatalf("after release: %d bytes, %d reading", stats.bytes.Load(), stats.reading.Load())
	}
}

// cutWriter is a ResponseWriter whose connection reports a read deadline
// set by closing cut.
type cutWriter struct {
	*httptest.ResponseRecorder
	cut  chan struct{}
	once sync.Once
}

func (w *cutWriter) SetReadDeadline(time.Time) error {
	w.once.Do(func() { close(w.cut) })
	return nil
}

// endsAfterCut is a body that sends nothing until the stall watch has cut
// the reads, then ends: its last read and the cut race.
type endsAfterCut struct{ cut chan struct{} }

func (r endsAfterCut) Read([]byte) (int, error) {
	<-r.cut
	return 0, io.EOF
}

// TestReadBodyEndAfterCut: a body that ends once its reads were cut is
// answered as stalled, not served: the connection can read nothing more,
// and the server would cancel the request when it tried.
func TestReadBodyEndAfterCut(t *testing.T) {
	w := &cutWriter{ResponseRecorder: httptest.NewRecorder(), cut: make(chan struct{})}
	r := httptest.NewRequest("POST", "/x", io.NopCloser(endsAfterCut{w.cut}))
	r.ContentLength = -1
	hold := bodyHold{b: &budget{max: 1 << 20, stats: &bodyCounters{}}}
	if _, err := readBody(w, r, 4096, time.Millisecond, &hold); !isTimeout(err) {
		t.Fatalf("a body that ended after the cut: %v, want a timeout", err)
	}
}
