package isolate_test

import (
	"errors"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/isolate"
)

// opsProbeJS tries to reach, replace or shadow the helper the rewritten
// `+` calls (opsparam.go), then doubles a string: the doubling must still
// end in memory_limit, charged by the real helper.
const opsProbeJS = `
const top = typeof this;
const fake = () => "fake";
const probes = {
  top: () => top,
  evalName: () => { try { return String(eval("typeof %big")); } catch (e) { return e.name; } },
  functionName: () => { try { return String(Function("return typeof %big")()); } catch (e) { return e.name; } },
  globalKeys: () => String(Reflect.ownKeys(globalThis).some((k) => String(k).includes("%"))),
  globalIn: () => String("%big" in globalThis),
  with: () => { try { return Function("o", "s", "with (o) { return s + s; }")({ "%big": fake }, "ab"); } catch (e) { return e.name; } },
  withEval: () => { globalThis.q = "c"; try { return Function("o", "with (o) { return eval('q + q'); }")({ "%big": fake, eval }); } catch (e) { return e.name; } },
  globalProp: () => { globalThis["%big"] = fake; return String(eval("let a = 'x'; a + a")); },
  globalFixed: () => {
    try { Object.defineProperty(globalThis, "%big", { value: fake, writable: false, configurable: false }); } catch (e) { return "define " + e.name; }
    let first;
    try { first = String(eval("let a = 'x'; a + a")); } catch (e) { first = e.name; }
    let second;
    try { second = String(eval("let b = 'y'; b + b")); } catch (e) { second = e.name; }
    return first + " " + second;
  },
  sloppyThis: () => { try { return String(Function("return typeof this['%big']")()); } catch (e) { return e.name; } },
};
export function receive(msg) {
  if (msg.probe) return probes[msg.probe]();
  if (msg.double === "module") { let s = "x"; for (;;) s += s; }
  if (msg.double === "eval") { return eval("let s = 'x'; for (;;) s += s;"); }
  if (msg.double === "function") { return Function("let s = 'x'; for (;;) s = s + s;")(); }
  if (msg.double === "with") { return Function("o", "with (o) { let s = 'x'; for (;;) s = s + s; }")({ "%big": (c, a, b) => a }); }
}
`

// TestOpsParam_TenantCannotReachTheHelper: no script code can name, read,
// replace or shadow the helper of the rewritten `+`, by eval, the
// Function constructor, a with statement (refused where it would hold a
// rewritten operator), or a global property of its name (set before code
// made at run time first needs the helper); after each attempt a
// doubling string still ends in memory_limit. Before with statements were
// refused, {"%big": f} in one replaced the helper in the statement's body.
func TestOpsParam_TenantCannotReachTheHelper(t *testing.T) {
	want := map[string]string{
		"top":          "undefined",
		"evalName":     "SyntaxError",
		"functionName": "SyntaxError",
		"globalKeys":   "false",
		"globalIn":     "false",
		"with":         "SyntaxError",
		"withEval":     "cc",
		"globalProp":   "xx",
		"globalFixed":  "xx yy",
		"sloppyThis":   "undefined",
	}
	for _, probe := range []string{"top", "evalName", "functionName", "globalKeys", "globalIn", "with", "withEval", "globalProp", "globalFixed", "sloppyThis"} {
		for _, double := range []string{"module", "eval", "function", "with"} {
			t.Run(probe+"/"+double, func(t *testing.T) {
				iso, _ := newIsolate(t, opsProbeJS, isolate.Limits{CPU: 20 * time.Second, Memory: 16 << 20})
				defer iso.Close()
				if got := answer(t, turn(t, iso, map[string]any{"probe": probe})); got != want[probe] {
					t.Errorf("probe %s answered %v, want %v", probe, got, want[probe])
				}
				o := turn(t, iso, map[string]any{"double": double})
				if double == "with" {
					if !isSyntaxError(o) {
						t.Errorf("after %s, the doubling in a with statement ended in %v, want a SyntaxError", probe, o.Crash)
					}
					return
				}
				if !errors.Is(o.Crash, isolate.ErrMemoryLimit) {
					t.Errorf("after %s, the %s doubling ended in %v, want memory_limit", probe, double, o.Crash)
				}
			})
		}
	}
}

func isSyntaxError(o isolate.Outcome) bool {
	var pe *isolate.JSError
	return errors.As(o.Crash, &pe) && pe.Name == "SyntaxError"
}

// TestOpsParam_ModuleReadingArguments: a module whose code reads
// `arguments` keeps a module function without parameters (so it finds no
// helper there) and its `+` is still charged, through the global binding.
func TestOpsParam_ModuleReadingArguments(t *testing.T) {
	src := `
const n = arguments.length;
export function receive(msg) {
  if (msg.n) return String(n) + ":" + typeof arguments[0];
  let s = "x"; for (;;) s += s;
}`
	iso, _ := newIsolate(t, src, isolate.Limits{CPU: 20 * time.Second, Memory: 16 << 20})
	defer iso.Close()
	if got := answer(t, turn(t, iso, map[string]any{"n": true})); got != "0:object" {
		t.Errorf("the module saw %v, want 0:object", got)
	}
	if o := turn(t, iso, map[string]any{}); !errors.Is(o.Crash, isolate.ErrMemoryLimit) {
		t.Errorf("the doubling ended in %v, want memory_limit", o.Crash)
	}
}
