package isolate_test

import (
	"strings"
	"testing"

	"github.com/cloister-rt/cloister/isolate"
)

// A script with no regular expression literal, async function or
// generator does not have their constructors guarded as it starts
// (needs.go); every other way to them must meet the guard all the same.
// Each bomb below reaches a constructor only through code compiled at run
// time or through a String method that builds a RegExp, in a module whose
// own source has none of them.
func TestNeeds_LazyGuardsHoldOnEveryPath(t *testing.T) {
	const src = `
const deep = () => "(".repeat(5000) + ")".repeat(5000);
const deepLook = () => "(?=" + deep() + ")";
const bombs = {
  evalRegExpLiteral: () => eval("/x/").constructor(deepLook()),
  functionRegExpLiteral: () => new Function("return /x/")().constructor(deepLook()),
  evalAsync: () => eval("(async function () {})").constructor(deep()),
  functionAsyncArrow: () => Function("return async () => 1")().constructor(deep()),
  evalGenerator: () => eval("(function* () {})").constructor(deep()),
  functionGeneratorMethod: () => Function("return ({ *g() {} }).g")().constructor(deep()),
  match: () => "x".match(deepLook()),
};
export function receive(msg) {
  const f = bombs[msg.name];
  try { f(); return "ok"; } catch (e) { return e.name + ": " + e.message; }
}`
	for _, name := range []string{"evalRegExpLiteral", "functionRegExpLiteral", "evalAsync",
		"functionAsyncArrow", "evalGenerator", "functionGeneratorMethod", "match"} {
		t.Run(name, func(t *testing.T) {
			iso, _ := newIsolate(t, src, isolate.Limits{})
			got, _ := answer(t, turn(t, iso, map[string]any{"name": name})).(string)
			if !strings.HasPrefix(got, "SyntaxError") || !strings.Contains(got, "deeper than") && !strings.Contains(got, "nest") {
				t.Errorf("%s: %q, want the guard's SyntaxError", name, got)
			}
		})
	}
}
