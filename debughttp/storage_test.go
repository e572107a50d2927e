package debughttp_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/debughttp"
	"github.com/cloister-rt/cloister/internal/testkit/testnode"
	"github.com/cloister-rt/cloister/storage"
	"github.com/cloister-rt/cloister/supervisor"
)

// TestDetails_Storage: a worker's storage bytes, keys and quota are in
// its detail, as of its last commit; a worker without storage has none.
func TestDetails_Storage(t *testing.T) {
	src := []byte(`export function receive(msg, ctx) { if (ctx.storage) ctx.storage.put("k" + msg, "x".repeat(100)); return 1; }`)
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(10, time.Second), Children: []actor.ChildSpec{
		{Name: "s", Script: testnode.Script(t, "s.js", src), Storage: true, StorageQuota: 1 << 20},
		{Name: "plain", Script: testnode.Script(t, "p.js", src)},
	}}
	n := testnode.Start(t, actor.Options{Storage: storage.NewMemory()}, root)
	var one int
	testnode.Call(t, n, "s", 1, &one)
	testnode.Call(t, n, "s", 2, &one)
	testnode.Call(t, n, "plain", 1, &one)
	p, _ := n.Lookup("s")
	d := debughttp.Details(p)
	if d.Storage == nil || d.Storage.Keys != 2 || d.Storage.Bytes < 200 || d.Storage.Quota != 1<<20 {
		t.Fatalf("storage detail = %+v", d.Storage)
	}
	p, _ = n.Lookup("plain")
	if d := debughttp.Details(p); d.Storage != nil {
		t.Fatalf("a worker without storage shows %+v", d.Storage)
	}
}

// TestStorageDump: GET /debug/processes/{id}/storage pages through a
// worker's committed entries, needs the token even on loopback, and
// refuses bad options and workers without storage.
func TestStorageDump(t *testing.T) {
	src := []byte(`
export function receive(msg, ctx) {
  if (msg === "fill") {
    for (let i = 0; i < 15; i++) ctx.storage.put("k" + String(i).padStart(2, "0"), {i, at: new Date(0)});
    ctx.storage.put("other", "x");
    ctx.storage.setAlarm(4102444800000);
  }
  return 1;
}
export function alarm() {}`)
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(10, time.Second), Children: []actor.ChildSpec{
		{Name: "s", Script: testnode.Script(t, "s.js", src), Storage: true},
		{Name: "plain", Script: testnode.Script(t, "p.js", src)},
	}}
	n := testnode.Start(t, actor.Options{Storage: storage.NewMemory()}, root)
	var one int
	testnode.Call(t, n, "s", "fill", &one)
	f := &fixture{node: n, srv: httptest.NewServer(debughttp.Handler(debughttp.Config{Node: n, Token: token}))}
	t.Cleanup(f.srv.Close)
	base := fmt.Sprintf("/debug/processes/%d/storage", f.id(t, "s"))

	if code, _ := f.do(t, http.MethodGet, base, ""); code != http.StatusUnauthorized {
		t.Fatalf("without the token: %d, want 401", code)
	}
	var d debughttp.StorageDump
	page := func(query string) []string {
		t.Helper()
		d = debughttp.StorageDump{}
		f.getJSON(t, base+query, &d)
		var keys []string
		for _, e := range d.Entries {
			keys = append(keys, e.Key)
		}
		return keys
	}
	if got := page(""); len(got) != 16 || got[0] != "k00" || got[15] != "other" || d.More {
		t.Fatalf("all entries: %v, more %v", got, d.More)
	}
	if d.Path != "s" || d.Usage.Keys != 16 || d.Usage.Bytes <= 0 || d.Usage.Quota != storage.DefaultQuota {
		t.Fatalf("usage %+v of %q", d.Usage, d.Path)
	}
	if d.Alarm == nil || *d.Alarm != 4102444800000 {
		t.Fatalf("alarm %v", d.Alarm)
	}
	if v, ok := d.Entries[3].Value.(map[string]any); !ok || v["i"] != float64(3) || v["at"] != "1970-01-01T00:00:00Z" {
		t.Fatalf("k03's value decoded as %#v", d.Entries[3].Value)
	}
	if got := page("?prefix=k&limit=4"); fmt.Sprint(got) != "[k00 k01 k02 k03]" || !d.More || d.Next != "k04" {
		t.Fatalf("first page: %v, more %v, next %q", got, d.More, d.Next)
	}
	if got := page("?prefix=k&limit=4&start=" + d.Next); fmt.Sprint(got) != "[k04 k05 k06 k07]" {
		t.Fatalf("second page: %v", got)
	}
	if got := page("?prefix=k1&reverse=1&limit=2"); fmt.Sprint(got) != "[k14 k13]" || d.Next != "k13" {
		t.Fatalf("reverse page: %v, next %q", got, d.Next)
	}
	if got := page("?prefix=k1&reverse=1&limit=2&end=" + d.Next); fmt.Sprint(got) != "[k12 k11]" {
		t.Fatalf("second reverse page: %v", got)
	}
	for query, want := range map[string]int{
		"?limit=0":    http.StatusBadRequest,
		"?limit=1001": http.StatusBadRequest,
		"?limit=x":    http.StatusBadRequest,
		"?prefix=" + strings.Repeat("p", storage.MaxKeyBytes+1): http.StatusBadRequest,
	} {
		if code, body := f.do(t, http.MethodGet, base+query, token); code != want {
			t.Errorf("GET %s: %d %s, want %d", query[:min(len(query), 20)], code, body, want)
		}
	}
	if code, _ := f.do(t, http.MethodGet, fmt.Sprintf("/debug/processes/%d/storage", f.id(t, "plain")), token); code != http.StatusNotFound {
		t.Errorf("a worker without storage: %d, want 404", code)
	}
}
