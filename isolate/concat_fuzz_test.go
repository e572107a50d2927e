package isolate

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/dop251/goja"
)

// The concatenation guards (concat.go) compute `+` in a host helper
// instead of goja's instruction, and turn template literals into one
// call; in a BigInt script `-` and the comparisons that parse strings as
// BigInts go through the BigInt helper. FuzzConcatOperators compares
// them with goja's own, as FuzzBigIntOperators does for the BigInt
// operators, on the same operands and forms plus template literals:
//
//	go test -run '^$' -fuzz FuzzConcatOperators -fuzztime 2m ./isolate/

var concatFuzzOps = []string{"+", "-", "<", ">", "<=", ">=", "==", "!="}

// concatFuzzTemplates are the template forms: L and R are operands.
var concatFuzzTemplates = []string{
	"`${L}${R}`",
	"`a${L}b${R}c`",
	"`${L}`",
	"(() => { let s = `x`; s += `${L}-${R}`; return s; })()",
	"`${`${L}`}${R}`",
}

// concatFuzzProgram builds the program of one fuzz input: an operator in
// one of bigFuzzForms (compound assignments only for + and -), or a
// template form.
func concatFuzzProgram(form, op, l, r uint8) string {
	opStr := concatFuzzOps[int(op)%len(concatFuzzOps)]
	var e string
	if f := int(form) % (len(bigFuzzForms) + len(concatFuzzTemplates)); f >= len(bigFuzzForms) {
		e = concatFuzzTemplates[f-len(bigFuzzForms)]
	} else {
		e = bigFuzzForms[f]
		if strings.Contains(e, "OP=") && opStr != "+" && opStr != "-" {
			e = bigFuzzForms[0]
		}
	}
	e = strings.NewReplacer("L", "id("+bigFuzzOperands[int(l)%len(bigFuzzOperands)]+")",
		"R", "id("+bigFuzzOperands[int(r)%len(bigFuzzOperands)]+")",
		"OP", opStr).Replace(e)
	return fmt.Sprintf(`(() => {%s
		try { return show(%s) + " | " + log.join(); } catch (e) { return "threw " + e.name + ": " + e.message + " | " + log.join(); }
	})()`, bigFuzzPrelude, e)
}

// gojaToPrimitive is goja's message for an object without a primitive
// value, in both of its forms (template literals add the Go type).
var gojaToPrimitive = regexp.MustCompile(`Could not convert &\{.*\}( \(\*goja\.\w+\))? to primitive`)

// compareConcat runs prog rewritten in i and as it is in plain.
func compareConcat(t testing.TB, i *Isolate, plain *goja.Runtime, prog string) bool {
	got, err := runRewritten(i, prog)
	if err != nil {
		t.Fatalf("%s\nrewritten: %v", prog, err)
	}
	if refusedBig(got) {
		return false
	}
	want, err := plain.RunString(prog)
	if err != nil {
		t.Fatalf("%s\ngoja: %v", prog, err)
	}
	// goja's own message for an object without a primitive value, where
	// goja's operator still converts (== between a number and an object).
	g := gojaToPrimitive.ReplaceAllString(got.String(), "Cannot convert object to primitive value")
	w := gojaToPrimitive.ReplaceAllString(want.String(), "Cannot convert object to primitive value")
	if !bigSame(g, w) {
		t.Fatalf("%s\nrewritten: %v\ngoja:      %v", prog, got, want)
	}
	return true
}

func FuzzConcatOperators(f *testing.F) {
	for form := 0; form < len(bigFuzzForms)+len(concatFuzzTemplates); form++ {
		for op := range concatFuzzOps {
			f.Add(uint8(form), uint8(op), uint8(form+op), uint8(3*op+form+1))
		}
	}
	i := guardedRuntime(f)
	i.builtins.enableBigInt()
	plain := goja.New()
	f.Fuzz(func(t *testing.T, form, op, l, r uint8) {
		compareConcat(t, i, plain, concatFuzzProgram(form, op, l, r))
	})
}

// TestConcat_EveryOperandAndForm runs a fixed sample of the table.
func TestConcat_EveryOperandAndForm(t *testing.T) {
	i := guardedRuntime(t)
	i.builtins.enableBigInt()
	plain := goja.New()
	n := 0
	forms := len(bigFuzzForms) + len(concatFuzzTemplates)
	for form := 0; form < forms; form++ {
		for op := range concatFuzzOps {
			for l := range bigFuzzOperands {
				for r := range bigFuzzOperands {
					if every := map[bool]int{false: 29, true: 97}[testing.Short()]; (l+r+form+op)%every != 0 {
						continue
					}
					if compareConcat(t, i, plain, concatFuzzProgram(uint8(form), uint8(op), uint8(l), uint8(r))) {
						n++
					}
				}
			}
		}
	}
	t.Logf("%d programs agree", n)
}
