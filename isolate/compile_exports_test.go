package isolate_test

// Regression tests for the export rewrite (exportsObject).

import (
	"fmt"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/isolate"
)

// export { x as __proto__ } is an export named "__proto__" in ES modules:
// it must be a property of the exports object, not its prototype, so no
// handler the module did not export is found through it.
func TestCompile_ProtoExportDoesNotBecomeThePrototype(t *testing.T) {
	iso := mustRun(t, "t.js", `const p = { init() { globalThis.initRan = true } };
export { p as __proto__ };
export function receive() { return globalThis.initRan === true }`)
	if ran, o := initOutcome(iso); !ran || o.Crash != nil {
		t.Fatalf("init: ran=%v %v", ran, o.Crash)
	}
	if got := answer(t, turn(t, iso, 1)); got != false {
		t.Fatalf("an init the module did not export ran: the __proto__ export became the exports' prototype")
	}
}

// Looking the handlers up runs no script code: no inherited getter (through
// an exported __proto__, or one the body put on Object.prototype) can run
// outside the CPU watchdog. Each getter counts its calls; the module's
// receive reports the count.
func TestCompile_ExportLookupRunsNoScriptOutsideTheCPULimit(t *testing.T) {
	const receive = `
export function receive() { return globalThis.getterCalls ?? 0 }`
	for name, src := range map[string]string{
		"__proto__ export": `const p = { get init() { globalThis.getterCalls = (globalThis.getterCalls ?? 0) + 1; return undefined } };
export { p as __proto__ };` + receive,
		"Object.prototype getter": `Object.defineProperty(Object.prototype, "inspect", { get() { globalThis.getterCalls = (globalThis.getterCalls ?? 0) + 1; return undefined }, configurable: true });` + receive,
	} {
		t.Run(name, func(t *testing.T) {
			s, err := compileModule(t, "t.js", src)
			if err != nil {
				t.Fatal(err)
			}
			iso, err := newModule(t, s, isolate.Limits{CPU: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if ran, o := initOutcome(iso); !ran || o.Crash != nil {
				t.Fatalf("init: ran=%v %v", ran, o.Crash)
			}
			if got := answer(t, turn(t, iso, 1)); fmt.Sprint(got) != "0" {
				t.Fatalf("looking up the handlers ran a getter %v times", got)
			}
		})
	}
}

// Legal comments (/*! */, //!, @license, @preserve) do not stop a script
// from compiling.
func TestCompile_LegalCommentsCompile(t *testing.T) {
	for _, src := range []string{
		"/*! (c) someone, MIT */\nexport function receive() { return 1 }",
		"// @license MIT\nexport function receive() { return 1 }",
		"export function receive() { return 1 }\n//! keep me",
		"/** @preserve */\nexport function receive() { return 1 }",
	} {
		if _, err := compileModule(t, "t.js", src); err != nil {
			t.Errorf("%q: %v", src, err)
		}
	}
}

// A sourceMappingURL line inside the script's own template literal is
// text, not a place to rewrite.
func TestCompile_SourceMappingURLInsideATemplate(t *testing.T) {
	iso := mustRun(t, "t.js", "export function receive() { return `x\n//# sourceMappingURL=y\n` }")
	if got := answer(t, turn(t, iso, 1)); got != "x\n//# sourceMappingURL=y\n" {
		t.Fatalf("got %q", got)
	}
}

// Every ECMAScript identifier can be exported: combining marks (Mn, Mc),
// connector punctuation (Pc), ZWNJ/ZWJ and letter numbers (Nl) at the start.
func TestCompile_AllIdentifierCharactersExport(t *testing.T) {
	for _, id := range []string{"e\u0301", "a\u200c", "Ⅻ", "a‿b", "क्ष"} {
		src := "export const " + id + " = 1\nexport function receive() { return 1 }"
		if _, err := compileModule(t, "t.js", src); err != nil {
			t.Errorf("%q: %v", id, err)
		}
	}
}
