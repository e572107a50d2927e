package isolate

import (
	"math/big"
	"testing"

	"github.com/dop251/goja"
)

// TestBigInt_GojaLayout fails loudly on a goja upgrade that moves what the
// BigInt guards read in place: the big.Int inside a BigInt primitive, and
// the call function of a native function built from a template.
func TestBigInt_GojaLayout(t *testing.T) {
	if err := bigLayoutErr(); err != nil {
		t.Fatal(err)
	}
	rt := goja.New()
	v, err := rt.RunString("3n ** 70n")
	if err != nil {
		t.Fatal(err)
	}
	want := new(big.Int).Exp(big.NewInt(3), big.NewInt(70), nil)
	if x := bigOf(v); x == nil || x.Cmp(want) != 0 {
		t.Fatalf("bigOf(3n ** 70n) = %v, want %v", x, want)
	}
	if bigOf(rt.ToValue(3)) != nil || bigOf(rt.ToValue("3")) != nil {
		t.Fatal("bigOf found a BigInt in a number or a string")
	}
	f, ok := rt.Get("BigInt").(*goja.Object)
	if !ok {
		t.Fatal("no BigInt global")
	}
	p, err := templatedCall(f)
	if err != nil || *p == nil {
		t.Fatalf("BigInt's call function: %v", err)
	}
	if r := (*p)(goja.FunctionCall{Arguments: []goja.Value{rt.ToValue(7)}}); r.String() != "7" {
		t.Fatalf("BigInt's call function called directly = %v, want 7", r)
	}
}

// TestBigInt_OnlyScriptsThatNameItAreRewritten: a script that never names
// BigInt is compiled as it is (its operators cost nothing more); one that
// does, by a literal, a name, a property or a string, is rewritten.
func TestBigInt_OnlyScriptsThatNameItAreRewritten(t *testing.T) {
	for _, c := range []struct {
		src  string
		want bool
	}{
		{`export function receive(m) { return m.a * m.b << 2; }`, false},
		{`export function receive(m) { return globalThis[m.name]; }`, false},
		{`export function receive(m) { return 3n; }`, true},
		{`export function receive(m) { return BigInt(m.a); }`, true},
		{`export function receive(m) { return new BigUint64Array(1); }`, true},
		{`export function receive(m) { return m.view.getBigInt64(0); }`, true},
		{"export function receive(m) { return globalThis[`BigInt`]; }", true},
		{`export function receive(m) { return globalThis["BigInt64Array"]; }`, true},
	} {
		s, err := Compile("x.js", []byte(c.src))
		if err != nil {
			t.Fatal(err)
		}
		if got := s.needs&needBigInt != 0; got != c.want {
			t.Errorf("%s: rewritten = %v, want %v", c.src, got, c.want)
		}
	}
}
