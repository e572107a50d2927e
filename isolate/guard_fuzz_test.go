package isolate

import (
	"strings"
	"testing"

	"github.com/dop251/goja"
)

// fuzzSource builds a source from a fuzzed shape: open repeated n times,
// then middle, then close repeated n times, so that deep nesting is a few
// bytes of input. Sources over max bytes are not built (ok is false).
func fuzzSource(open, middle, close string, n uint16, max int) (src string, ok bool) {
	if (len(open)+len(close))*int(n)+len(middle) > max {
		return "", false
	}
	return strings.Repeat(open, int(n)) + middle + strings.Repeat(close, int(n)), true
}

// fuzzShapes are seeds for the shape fuzzers: nesting of every kind the
// checker counts, and the forms that hide brackets from it.
var fuzzShapes = []struct {
	open, middle, close string
	n                   uint16
}{
	{"(", "0", ")", 999},
	{"(", "0", ")", 1001},
	{"[", "", "]", 5000},
	{"{", "", "}", 2000},
	{"-", "x", "", 3000},
	{"!", "x", "", 1000},
	{"typeof ", "x", "", 1200},
	{"a=", "1", "", 2000},
	{"x?", "1", ":2", 1500},
	{"()=>", "0", "", 1500},
	{"async()=>", "0", "", 800},
	{"new ", "f", "()", 1500},
	{"`${", "x", "}`", 800},
	{"'(", "", "'", 3000},
	{"/*(*/(", "0", ")", 1100},
	{"//(\n(", "0", ")", 1100},
	{"/(/;(", "0", ")", 900},
	{"\"\\\"(\"+(", "0", ")", 900},
	{"function f(){return ", "0", "}", 900},
	{"a\n=", "1", "", 1500},
	{"yield ", "x", "", 1200},
	{"[{(", "", ")}]", 400},
	{"", "export function receive() { return 1 }", "", 0},
}

// FuzzCheckSource: checkSource never panics, refuses what is over its byte
// limit, and a source it accepts for eval or a Function constructor parses
// in goja without exhausting the Go stack (which no recover catches: the
// fuzzer would report the worker's crash).
func FuzzCheckSource(f *testing.F) {
	for _, s := range fuzzShapes {
		f.Add(s.open, s.middle, s.close, s.n, false)
		f.Add(s.open, s.middle, s.close, s.n, true)
	}
	f.Fuzz(func(t *testing.T, open, middle, close string, n uint16, function bool) {
		src, ok := fuzzSource(open, middle, close, n, 2*maxEvalBytes)
		if !ok {
			return
		}
		err := checkSource(src, maxEvalBytes)
		if len(src) > maxEvalBytes && err == nil {
			t.Fatalf("a source of %d bytes passed a limit of %d", len(src), maxEvalBytes)
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		if function {
			// What a Function constructor compiles: the parameters (here
			// open) and the body, each checked on its own, as checkCode
			// does, within one byte budget.
			if checkSource(open, maxEvalBytes-len(src)) != nil {
				return
			}
			_, _ = goja.Parse("fuzz", "(function anonymous("+open+"\n) {\n"+src+"\n})")
			return
		}
		_, _ = goja.Parse("fuzz", src)
	})
}
