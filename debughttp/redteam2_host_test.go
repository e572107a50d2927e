package debughttp_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cloister-rt/cloister/debughttp"
)

// TestRedteam2_HostHeaderOddForms: Host values a rebinding page or a
// hostile client could send, beyond TestDebug_HostHeader's. Only genuine
// loopback passes; a refusal echoes the header as plain text, never as
// markup, and cut short. "localhost:80@evil.example" and
// "evil.example#.localhost" passed before (a port that is not a number,
// a "name" under localhost that is not a DNS name); no browser sends
// them, so this was defence in depth, not a rebinding hole.
func TestRedteam2_HostHeaderOddForms(t *testing.T) {
	for _, tt := range []struct {
		host string
		want int
	}{
		{"0.0.0.0:9090", http.StatusMisdirectedRequest},
		{"[::]:9090", http.StatusMisdirectedRequest},
		{"127.1", http.StatusMisdirectedRequest},
		{"2130706433", http.StatusMisdirectedRequest},
		{"0x7f000001", http.StatusMisdirectedRequest},
		{"localhost..", http.StatusMisdirectedRequest},
		{"localhost:80@evil.example", http.StatusMisdirectedRequest},
		{"evil.example#.localhost", http.StatusMisdirectedRequest},
		{"<script>alert(1)</script>" + strings.Repeat("a", 10000), http.StatusMisdirectedRequest},
		{"[::ffff:127.0.0.1]:9090", http.StatusOK},
	} {
		h := debughttp.Handler(debughttp.Config{})
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Host = tt.host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("Host %.40q: %d, want %d", tt.host, w.Code, tt.want)
			continue
		}
		if tt.want != http.StatusOK {
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("Host %.40q: refused as %q", tt.host, ct)
			}
			if w.Body.Len() > 2048 {
				t.Errorf("Host %.40q: a refusal of %d bytes", tt.host, w.Body.Len())
			}
		}
	}
}
