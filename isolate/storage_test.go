package isolate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/storage"
)

// storageScript answers msg.code evaluated with ctx in scope, or the
// thrown error's name.
const storageScript = `
export function receive(msg, ctx) {
  try { return String(JSON.stringify(new Function("ctx", msg.code)(ctx))); }
  catch (e) { return "threw " + e.name + ": " + e.message; }
}`

func newStorageIsolate(t *testing.T, b storage.Backend, quota int64) (*isolate.Isolate, *storage.Store) {
	t.Helper()
	s, err := isolate.Compile("test.js", []byte(storageScript))
	if err != nil {
		t.Fatal(err)
	}
	st, err := storage.Open(b, "/app/acct", quota)
	if err != nil {
		t.Fatal(err)
	}
	// A generous CPU limit: some turns make a thousand writes, which the
	// default 50 ms does not cover under the race detector.
	iso, err := isolate.New(s, isolate.Config{Name: "test", Self: capability.New(target{1}, capability.All), Host: &fakeHost{},
		Storage: st, Limits: isolate.Limits{CPU: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iso.Close)
	return iso, st
}

func js(t *testing.T, iso *isolate.Isolate, code string) string {
	t.Helper()
	got, _ := answer(t, turn(t, iso, map[string]any{"code": code})).(string)
	return got
}

func TestStorage_API(t *testing.T) {
	b := storage.NewMemory()
	iso, _ := newStorageIsolate(t, b, 0)
	for _, c := range []struct{ code, want string }{
		{`ctx.storage.put("a", {n: 1, d: [1, "x"]}); return ctx.storage.get("a")`, `{"n":1,"d":[1,"x"]}`},
		{`return ctx.storage.get("missing") === undefined`, `true`},
		{`ctx.storage.put({b: 2, c: 3}); return ctx.storage.get(["a", "b", "c", "zz"])`, `{"a":{"n":1,"d":[1,"x"]},"b":2,"c":3}`},
		{`return ctx.storage.list({start: "b"})`, `[["b",2],["c",3]]`},
		{`return ctx.storage.list({reverse: true, limit: 2})`, `[["c",3],["b",2]]`},
		{`return [ctx.storage.delete("b"), ctx.storage.delete("b"), ctx.storage.delete(["a", "c", "q"])]`, `[true,false,2]`},
		{`ctx.storage.put("p/1", 1); ctx.storage.put("p/2", 2); ctx.storage.put("q", 3); return ctx.storage.list({prefix: "p/"})`, `[["p/1",1],["p/2",2]]`},
		{`ctx.storage.deleteAll(); ctx.storage.put("only", true); return ctx.storage.list()`, `[["only",true]]`},
		// A throw inside a transaction undoes what it wrote, and only that.
		{`ctx.storage.put("t0", 0);
		  try { ctx.storage.transaction(s => { s.put("t1", 1); s.delete("only"); throw new Error("no") }) } catch (e) {}
		  const r = ctx.storage.transaction(s => { s.put("t2", 2); return "kept" });
		  return [r, ctx.storage.list()]`, `["kept",[["only",true],["t0",0],["t2",2]]]`},
		{`return typeof ctx.storage.put.call`, `"function"`},
		{`ctx.storage.put("cap", ctx.self)`, `threw DataCloneError`},
		{`ctx.storage.put(1, 2)`, `threw TypeError`},
		{`ctx.storage.put("k".repeat(2049), 2)`, `threw RangeError`},
		{`ctx.storage.put("big", "x".repeat(200000))`, `threw RangeError`},
		{`ctx.storage.list({limit: 0})`, `threw RangeError`},
		{`ctx.storage.list({limit: 1e9})`, `threw RangeError`},
		{`ctx.storage.setAlarm(Date.now())`, `threw TypeError: storage.setAlarm: the script exports no alarm handler`},
		{`return ctx.storage.getAlarm()`, `null`},
		{`ctx.storage.evil = 1; return ctx.storage.evil`, `undefined`},
	} {
		if got := js(t, iso, c.code); !strings.HasPrefix(got, c.want) {
			t.Errorf("%s\n got %s\nwant %s", c.code, got, c.want)
		}
	}
	// The isolate only buffers: nothing reached the backend until the
	// owner commits.
	if _, ok, _ := b.Get("/app/acct", "only"); ok {
		t.Fatal("a write reached the backend without a commit")
	}
	if err := iso.CommitStorage(); err != nil {
		t.Fatal(err)
	}
	kvs, _ := b.List("/app/acct", storage.ListOptions{Limit: 10})
	if len(kvs) != 3 {
		t.Fatalf("after commit the backend holds %d keys, want 3", len(kvs))
	}
}

func TestStorage_QuotaRefusalWritesNothing(t *testing.T) {
	iso, st := newStorageIsolate(t, storage.NewMemory(), 1000)
	got := js(t, iso, `ctx.storage.put("a", "x".repeat(500)); try { ctx.storage.put({b: "y".repeat(300), c: "z".repeat(300)}) } catch (e) { return e.name + " " + JSON.stringify(ctx.storage.get(["b", "c"])) }`)
	if got != `"QuotaExceededError {}"` && !strings.HasPrefix(got, `"QuotaExceededError`) {
		t.Fatalf("got %s", got)
	}
	if u := st.Usage(); u.Keys != 1 {
		t.Fatalf("usage after a refused put: %+v", u)
	}
}

func TestStorage_AbsentWithoutGrant(t *testing.T) {
	iso, _ := newIsolate(t, storageScript, isolate.Limits{})
	if got := js(t, iso, `return typeof ctx.storage`); got != `"undefined"` {
		t.Fatalf("typeof ctx.storage = %s without a grant", got)
	}
}

func TestStorage_AlarmArguments(t *testing.T) {
	s, err := isolate.Compile("test.js", []byte(storageScript+"\nexport function alarm() {}"))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := storage.Open(storage.NewMemory(), "a", 0)
	iso, err := isolate.New(s, isolate.Config{Name: "test", Self: capability.New(target{1}, capability.All), Host: &fakeHost{}, Storage: st})
	if err != nil {
		t.Fatal(err)
	}
	defer iso.Close()
	for _, c := range []struct{ code, want string }{
		{`ctx.storage.setAlarm(new Date(5000)); return ctx.storage.getAlarm()`, `5000`},
		{`ctx.storage.setAlarm(7000); return ctx.storage.getAlarm()`, `7000`},
		{`ctx.storage.deleteAlarm(); return ctx.storage.getAlarm()`, `null`},
		{`ctx.storage.setAlarm("soon")`, `threw TypeError`},
		{`ctx.storage.setAlarm(NaN)`, `threw TypeError`},
		{`ctx.storage.setAlarm(new Date(NaN))`, `threw TypeError`},
		{`ctx.storage.setAlarm({})`, `threw TypeError`},
	} {
		if got := js(t, iso, c.code); !strings.HasPrefix(got, c.want) {
			t.Errorf("%s\n got %s\nwant %s", c.code, got, c.want)
		}
	}
}

// TestStorage_ListDefaultLimit: a list that names no limit returns 1000
// entries, not everything.
func TestStorage_ListDefaultLimit(t *testing.T) {
	iso, _ := newStorageIsolate(t, storage.NewMemory(), 0)
	got := js(t, iso, `for (let i = 0; i < 1005; i++) ctx.storage.put("k" + String(i).padStart(4, "0"), i);
		const all = ctx.storage.list(); return [all.length, all[0][0], all[999][0]]`)
	if got != `[1000,"k0000","k0999"]` {
		t.Fatalf("got %s", got)
	}
}
