package isolate

import "testing"

// TestOpsParam_GojaLayoutIsKnown fails if goja's templated function
// objects are no longer what opsHelper makes the helper as: it would fall
// back to a native function, about 400 bytes more per isolate.
func TestOpsParam_GojaLayoutIsKnown(t *testing.T) {
	if !helperTmpl.ok() {
		t.Fatalf("the helper's layout is not known: %v", helperTmpl.err)
	}
}

// TestOpsParam_TakenWhereItCanBe: a module with a rewritten operator
// takes the helper as its parameter and binds nothing globally, unless
// its code mentions arguments or eval; one with nothing rewritten takes
// nothing.
func TestOpsParam_TakenWhereItCanBe(t *testing.T) {
	for _, c := range []struct {
		src          string
		param, globl bool
	}{
		{`let n = 0; export function receive(m) { n += m.by; return n; }`, true, false},
		{"export function receive(m) { return `a${m}`; }", true, false},
		{`export function receive(m) { return 10n ** BigInt(m); }`, true, false},
		{`export function receive(m) { return m * 2; }`, false, false},
		{`export function receive(m) { return arguments[0] + m; }`, false, true},
		{`export function receive(m) { return eval(m) + m; }`, false, true},
	} {
		s, err := Compile("t.js", []byte(c.src))
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		if s.opsParam != c.param || (s.needs&needGlobalOps != 0) != c.globl {
			t.Errorf("%s: parameter %v, global binding %v; want %v, %v", c.src, s.opsParam, s.needs&needGlobalOps != 0, c.param, c.globl)
		}
	}
}
