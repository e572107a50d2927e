package isolate_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/isolate"
	"github.com/dop251/goja"
)

// keysSmall enumerates small typed arrays every way dos_keys.go guards,
// and some ways it must leave alone: in an isolate it must give what goja
// gives.
const keysSmall = `(() => {
  const a = new Uint8Array(1000).map((_, i) => i);
  const order = [];
  const log = (x) => (order.push(x), x);
  const out = [
    Object.keys(a).length, Object.keys(a)[999], Object.values(a)[999], Object.getOwnPropertyNames(a).length,
    Reflect.ownKeys(new Uint8Array(2)).join(), JSON.stringify(Object.entries(new Int8Array([-1]))),
    JSON.stringify(Object.keys(Object.getOwnPropertyDescriptors(new Float32Array([0.5])))),
    JSON.stringify(Object.assign({}, new Uint8Array([5, 6]), null, { z: 1 })),
    Object.assign(new Uint8Array(3), new Uint8Array([7, 8])).join(),
    JSON.stringify({ ...new Int8Array([-1, 2]), x: 3 }),
    JSON.stringify({ ...null, ...undefined, ..."ab", ...5, ...{ get g() { return 4; } } }),
    JSON.stringify({ a: log(1), ...log({ b: 2 }), c: log(3) }) + order.join(),
    Object.keys(new Proxy(a, {})).length, JSON.stringify({ ...new Proxy(new Uint8Array([9]), {}) }),
    Object.keys(new Proxy(a, { ownKeys: () => ["length"], getOwnPropertyDescriptor: () => ({ value: 1, enumerable: true, configurable: true }) })).join(),
    JSON.stringify((0, eval)("({ ...new Uint8Array([4]) })")), JSON.stringify(new Function("a", "return { ...a }")(new Uint8Array([3]))),
    Object.keys("ab").join(), JSON.stringify(Object.entries(new String("xy"))), JSON.stringify(Object.assign({}, "é", new String("ab"))),
    JSON.stringify({ ..."é😀" }), Object.values(new Proxy(new String("abc"), {})).join(),
    (() => { try { return Object.keys(new Uint8Array(8e6)).length; } catch (e) { return e.name; } })(),
  ];
  return out.join("|");
})()`

func TestKeys_SmallTypedArraysAsGoja(t *testing.T) {
	want, err := goja.New().RunString(strings.Replace(keysSmall, "8e6", "0", 1))
	if err != nil {
		t.Fatal(err)
	}
	iso, _ := newIsolate(t, "export function receive() { return "+keysSmall+"; }", isolate.Limits{CPU: time.Second, Memory: 64 << 20})
	got := answer(t, turn(t, iso, map[string]any{}))
	// goja enumerates 8e6 elements (0 here); the isolate refuses them.
	w := strings.TrimSuffix(want.String(), "|0") + "|RangeError"
	if got != w {
		t.Errorf("got  %v\nwant %v", got, w)
	}
}

// A script whose only rewritten operator is a spread still gets the
// guarded helper.
func TestKeys_SpreadAloneIsGuarded(t *testing.T) {
	iso, _ := newIsolate(t, "export function receive() { return Object.keys({ ...new Uint8Array(8e6) }).length; }",
		isolate.Limits{CPU: time.Second, Memory: 64 << 20})
	o := turn(t, iso, map[string]any{})
	if !errors.Is(o.Crash, isolate.ErrMemoryLimit) {
		t.Fatalf("spread of 8e6 elements ended in %v, want the memory limit", o.Crash)
	}
}
