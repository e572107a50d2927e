package isolate_test

import (
	"testing"

	"github.com/cloister-rt/cloister/storage"
)

// TestStorage_CloneErrorNamesTheValue: a value that cannot be stored is
// refused with a DataCloneError whose path starts at the value stored (or
// at the entry of put(entries)) and whose verb is "store", and nothing of
// it is written.
func TestStorage_CloneErrorNamesTheValue(t *testing.T) {
	iso, _ := newStorageIsolate(t, storage.NewMemory(), 0)
	for _, c := range []struct{ code, want string }{
		{`ctx.storage.put("k", {n: 1, f() {}})`, `threw DataCloneError: storage: cannot store value.f: function`},
		{`ctx.storage.put("k", () => 1)`, `threw DataCloneError: storage: cannot store value: function`},
		{`ctx.storage.put("k", {a: [1, {s: Symbol("x")}]})`, `threw DataCloneError: storage: cannot store value.a[1].s: symbol`},
		{`const o = {}; o.self = o; ctx.storage.put("k", o)`, `threw DataCloneError: storage: cannot store value.self: cyclic reference (an object that contains itself)`},
		{`ctx.storage.put("k", {m: new Map()})`, `threw DataCloneError: storage: cannot store value.m: Map (store an array of entries or an object instead)`},
		{`ctx.storage.put("k", {c: ctx.self})`, `threw DataCloneError: storage: cannot store value.c: host object`},
		{`ctx.storage.put({ok: 1, "a b": {g: {get x() { throw new Error("no") }}}})`, `threw DataCloneError: storage: cannot store entries["a b"].g.x: a getter threw: no`},
		{`ctx.storage.put({k: 1, p: Promise.resolve()})`, `threw DataCloneError: storage: cannot store entries.p: Promise`},
		{`return [ctx.storage.get("k"), ctx.storage.get("ok")]`, `[null,null]`},
	} {
		if got := js(t, iso, c.code); len(got) < len(c.want) || got[:len(c.want)] != c.want {
			t.Errorf("%s\n got %s\nwant %s", c.code, got, c.want)
		}
	}
}
