package isolate

import "testing"

// TestIterators_GuardedWhenReached: a native iterator's next is guarded
// before the script can make such an iterator, and not before.
func TestIterators_GuardedWhenReached(t *testing.T) {
	for _, c := range []struct {
		code string
		want ctorKind
	}{
		{`[1, 2].values()`, ctorIterArray},
		{`[1, 2].keys()`, ctorIterArray},
		{`for (const x of [1]) {}`, ctorIterArray},
		{`const [a, b] = [1, 2]`, ctorIterArray},
		{`new Uint8Array(2).entries()`, ctorIterArray},
		{`(function () { return [...arguments]; })(1, 2)`, ctorIterArray},
		{`[..."ab"]`, ctorIterString},
		{`new Map([[1, 2]]).keys()`, ctorIterMap},
		{`new Set([1]).values()`, ctorIterSet},
	} {
		s, err := Compile("it.js", []byte("export function receive() { "+c.code+"; }"))
		if err != nil {
			t.Fatal(err)
		}
		i, err := New(s, Config{Name: "it", Host: acctHost{}})
		if err != nil {
			t.Fatal(err)
		}
		iters := uint32(1<<ctorIterArray | 1<<ctorIterString | 1<<ctorIterMap | 1<<ctorIterSet)
		if got := i.builtins.patched & iters &^ (1 << ctorIterArray); got != 0 && c.want != ctorIterArray {
			t.Errorf("%s: iterators guarded before the script ran: %b", c.code, got)
		}
		var crash error
		i.Receive(nil, false, func(o Outcome) { crash = o.Crash })
		if crash != nil {
			t.Fatalf("%s: %v", c.code, crash)
		}
		if i.builtins.patched&(1<<c.want) == 0 {
			t.Errorf("%s: iterator %d not guarded after it was made", c.code, c.want)
		}
		i.Close()
	}
	s, err := Compile("plain.js", []byte("export function receive(m) { return m.a + 1; }"))
	if err != nil {
		t.Fatal(err)
	}
	i, err := New(s, Config{Name: "plain", Host: acctHost{}})
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	if i.builtins.patched != 0 {
		t.Errorf("a script that reaches no guarded constructor has %b guarded", i.builtins.patched)
	}
}
