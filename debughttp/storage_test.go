package debughttp_test

import (
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
