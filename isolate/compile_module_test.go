package isolate_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
)

// The module forms the compiler meets in hostile and unusual scripts, and
// the handlers they export (compile.go, exportsObject). Each case either
// compiles to the exports it declares or is refused at compile time; none
// may change what bindExports sees beyond its own export list, or run
// script code outside the CPU limit.

func compileModule(t *testing.T, name, src string) (*isolate.Script, error) {
	t.Helper()
	return isolate.Compile(name, []byte(src))
}

func newModule(t *testing.T, s *isolate.Script, limits isolate.Limits) (*isolate.Isolate, error) {
	t.Helper()
	iso, err := isolate.New(s, isolate.Config{
		Name: "module", Self: capability.New(target{1}, capability.All), Limits: limits, Host: &fakeHost{},
	})
	if err == nil {
		t.Cleanup(iso.Close)
	}
	return iso, err
}

// mustRun compiles and starts src and returns the isolate.
func mustRun(t *testing.T, name, src string) *isolate.Isolate {
	t.Helper()
	s, err := compileModule(t, name, src)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	iso, err := newModule(t, s, isolate.Limits{CPU: time.Second})
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	return iso
}

func initOutcome(iso *isolate.Isolate) (ran bool, o isolate.Outcome) {
	iso.Init(mailbox.NewEnvelope([]byte{0xc0}, nil), func(out isolate.Outcome) { ran, o = true, out })
	return ran, o
}

// --- Cases that hold (regression tests) ---

func TestCompileModule_DefaultExportIsNotAHandler(t *testing.T) {
	iso := mustRun(t, "t.js", `export default function () { return "default" }
export function receive() { return "receive" }`)
	if got := answer(t, turn(t, iso, 1)); got != "receive" {
		t.Fatalf("got %v", got)
	}
}

func TestCompileModule_DefaultOnlyHasNoReceive(t *testing.T) {
	s, err := compileModule(t, "t.js", `export default function receive() { return 1 }`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newModule(t, s, isolate.Limits{}); !errors.Is(err, isolate.ErrNoReceive) {
		t.Fatalf("err = %v, want ErrNoReceive", err)
	}
}

func TestCompileModule_ObjectPrototypeNamesAsExports(t *testing.T) {
	iso := mustRun(t, "t.js", `function constructor() { return "c" }
export var hasOwnProperty = 1, toString = 2, valueOf = 3;
export { constructor };
export function receive() { return [typeof constructor, hasOwnProperty, toString, valueOf].join(",") }`)
	if got := answer(t, turn(t, iso, 1)); got != "function,1,2,3" {
		t.Fatalf("got %v", got)
	}
}

func TestCompileModule_ReceiveAlsoExportedAsInit(t *testing.T) {
	iso := mustRun(t, "t.js", `let n = 0
export function receive() { return ++n }
export { receive as init };`)
	if ran, o := initOutcome(iso); !ran || o.Crash != nil {
		t.Fatalf("init: ran=%v %v", ran, o.Crash)
	}
	if got := answer(t, turn(t, iso, 1)); got != int8(2) && got != int64(2) && got != uint8(2) {
		t.Fatalf("got %v (%T)", got, got)
	}
}

func TestCompileModule_ExportLetReassignedInBody(t *testing.T) {
	iso := mustRun(t, "t.js", `export let receive = () => "first";
receive = () => "second";`)
	if got := answer(t, turn(t, iso, 1)); got != "second" {
		t.Fatalf("got %v", got)
	}
}

func TestCompileModule_ClassExportNamedReceive(t *testing.T) {
	iso := mustRun(t, "t.js", `export class receive {}`)
	o := turn(t, iso, 1)
	var je *isolate.JSError
	if !errors.As(o.Crash, &je) {
		t.Fatalf("calling a class as receive: crash = %v, want a JS error", o.Crash)
	}
}

func TestCompileModule_DestructuredExports(t *testing.T) {
	iso := mustRun(t, "t.js", `export const { a, b: c } = { a: "A", b: "B" };
export function receive() { return a + c }`)
	if got := answer(t, turn(t, iso, 1)); got != "AB" {
		t.Fatalf("got %v", got)
	}
}

func TestCompileModule_UnicodeIdentifiers(t *testing.T) {
	iso := mustRun(t, "t.js", `function grüße() { return "hallo" }
export const 变量 = 1, ÆØÅ = 2, $x_1 = 3;
export { grüße as receive };`)
	if got := answer(t, turn(t, iso, 1)); got != "hallo" {
		t.Fatalf("got %v", got)
	}
}

func TestCompileModule_ExportTextInsideLiteralsIsNotAClause(t *testing.T) {
	for _, src := range []string{
		"function evil() { return 'evil' }\nexport function receive() { evil(); return `\nexport { evil as receive };\n` }",
		"function evil() { return 'evil' }\nexport function receive() { evil(); return \"\\nexport { evil as receive };\" }",
		"function evil() { return 'evil' }\nexport function receive() { evil(); return /export { evil as receive };/.source }",
	} {
		iso := mustRun(t, "t.js", src)
		got, _ := answer(t, turn(t, iso, 1)).(string)
		if !strings.Contains(got, "export { evil as receive };") {
			t.Fatalf("%s\ngot %q", src, got)
		}
	}
}

func TestCompileModule_ExportTextInTrailingTemplateIsRefused(t *testing.T) {
	// A template at the very end holding a clause: compile error, never a
	// rewrite of the template's text.
	src := "function evil() { return 'evil' }\nglobalThis.t = `\nexport { evil as receive };\n`;\n"
	s, err := compileModule(t, "t.js", src)
	if err != nil {
		return
	}
	if _, err := newModule(t, s, isolate.Limits{}); !errors.Is(err, isolate.ErrNoReceive) {
		t.Fatalf("err = %v, want ErrNoReceive", err)
	}
}

func TestCompileModule_OrdinaryCommentsAfterTheClause(t *testing.T) {
	iso := mustRun(t, "t.js", `export function receive() { return 1 }
// a trailing comment
/* and a block comment: export { receive as init }; */
`)
	if ran, o := initOutcome(iso); !ran || o.Crash != nil {
		t.Fatalf("init: ran=%v %v", ran, o.Crash)
	}
}

func TestCompileModule_TypeScriptEnumsAndNamespaces(t *testing.T) {
	iso := mustRun(t, "t.ts", `export enum E { A, B }
export namespace N { export const x: number = 40 }
export const enum C { K = 2 }
export function receive(): number { return E.B + N.x + C.K - 1 }`)
	if got := answer(t, turn(t, iso, 1)); got != int8(42) && got != int64(42) && got != uint8(42) {
		t.Fatalf("got %v (%T)", got, got)
	}
}

func TestCompileModule_RefusedForms(t *testing.T) {
	for _, src := range []string{
		"await 1\nexport function receive() {}",
		"export * from './other.js'\nexport function receive() {}",
		"export * as ns from 'x'\nexport function receive() {}",
		"export { x } from 'x'\nexport function receive() {}",
		"const a = 1\nexport { a as 'b c' }\nexport function receive() {}",
	} {
		if _, err := compileModule(t, "t.js", src); err == nil {
			t.Errorf("compiled:\n%s", src)
		}
	}
}

func TestCompileModule_NoExports(t *testing.T) {
	for _, src := range []string{"", "var x = 1", "globalThis.receive = function () {}", "export {}"} {
		s, err := compileModule(t, "t.js", src)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if _, err := newModule(t, s, isolate.Limits{}); !errors.Is(err, isolate.ErrNoReceive) {
			t.Fatalf("%q: err = %v, want ErrNoReceive", src, err)
		}
	}
}

func TestCompileModule_ModuleBodyIsStrictWithUndefinedThis(t *testing.T) {
	iso := mustRun(t, "t.js", `const self = this
let strict = false
try { undeclared = 1 } catch (e) { strict = true }
export function receive() { return String(self) + "," + strict }`)
	if got := answer(t, turn(t, iso, 1)); got != "undefined,true" {
		t.Fatalf("got %v", got)
	}
}

// A hashbang line is allowed, and lines in stacks still count it.
func TestCompileModule_Hashbang(t *testing.T) {
	iso := mustRun(t, "t.js", "#!/usr/bin/env cloister\nexport function receive(m) {\n  if (m === 2) throw new Error(\"two\");\n  return m + 1;\n}")
	if got := answer(t, turn(t, iso, 1)); fmt.Sprint(got) != "2" {
		t.Fatalf("receive(1) = %v, want 2", got)
	}
	o := turn(t, iso, 2)
	var je *isolate.JSError
	if !errors.As(o.Crash, &je) || je.Message == "" || !strings.Contains(je.Stack, "t.js:3:") {
		t.Fatalf("a throw on line 3: crash = %v, want a JS error whose stack names t.js:3", o.Crash)
	}
}

// A source that is not valid UTF-8 is refused with its position, never
// handed to esbuild: one that ends inside a multi-byte sequence made
// esbuild loop for ever (found by FuzzCompile).
func TestCompileModule_InvalidUTF8(t *testing.T) {
	for src, pos := range map[string]string{
		"// ends inside a sequence \xe2":                    "t.js:1:27:",
		"export function receive() {}\n// \xfd\x93T\xe2":    "t.js:2:4:",
		"const s = \"\xff\";\nexport function receive() {}": "t.js:1:12:",
	} {
		_, err := compileModule(t, "t.js", src)
		var ce *isolate.CompileError
		if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), pos) || !strings.Contains(err.Error(), "UTF-8") {
			t.Errorf("%q: err = %v, want a CompileError at %s about UTF-8", src, err, pos)
		}
	}
}
