package isolate

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"
	"weak"

	"github.com/cloister-rt/cloister/internal/testkit"

	"github.com/dop251/goja"
)

// These tests fail loudly when goja's private layout, which template.go
// and dos.go reach into, is not the one Cloister was written against (a
// goja upgrade): every field, type and linked function is checked here.

func TestTemplate_GojaLayoutIsKnown(t *testing.T) {
	if templateErr != nil {
		t.Fatalf("template guards not installed: %v", templateErr)
	}
	for what, typ := range map[string]string{
		"valueProperty": fmt.Sprint(layout.vpType), "nativeFuncObject": fmt.Sprint(layout.nfType),
		"arrayObject": fmt.Sprint(layout.arrayType), "sparseArrayObject": fmt.Sprint(layout.sparseType),
		"typedArrayObject": fmt.Sprint(layout.typedType),
	} {
		if typ != "*goja."+what {
			t.Errorf("layout type %s is %s", what, typ)
		}
	}
	for _, name := range []string{"globalThis", "Array.prototype", "String.prototype", "Function.prototype", "%TypedArray%.prototype"} {
		if templates[name] == nil {
			t.Errorf("no template for %s", name)
		}
	}
	ctxOnce.Do(buildCtxTemplates)
	if ctxErr != nil || ctxValType == nil || ctxTemplates[0] == nil || ctxTemplates[1] == nil {
		t.Errorf("ctx templates not built: %v", ctxErr)
	}
	for _, g := range templateGuards {
		if originals[g.object][g.name] == nil {
			t.Errorf("%s.%s: goja's factory was not found", g.object, g.name)
		}
	}
}

// TestTemplate_LinkedFunctions: the goja functions linked by name return
// what their names say.
func TestTemplate_LinkedFunctions(t *testing.T) {
	r := goja.New()
	for name, f := range map[string]func(*goja.Runtime) *goja.Object{
		"AsyncFunction": gojaGetAsyncFunction, "GeneratorFunction": gojaGetGeneratorFunction,
		"RegExp": gojaGetRegExp, "toString": gojaGetArrayToString,
	} {
		o := f(r)
		if o == nil || o.Get("name").String() != name {
			t.Errorf("linked getter of %s returns %v", name, o)
		}
		if _, err := selfOf(o); err != nil || implOf(o) != layout.nfType {
			t.Errorf("%s is not a native function (%v)", name, implOf(o))
		}
	}
	if gojaGetRegExp(r) != r.Get("RegExp") {
		t.Error("the linked RegExp is not the global RegExp")
	}
	if v, _ := r.RunString(`Array.prototype.toString`); v != gojaGetArrayToString(r) {
		t.Error("the linked toString is not Array.prototype.toString")
	}
	for want, f := range map[string]func(*goja.Runtime) *goja.Object{
		"[object Array Iterator]": gojaGetArrayIteratorPrototype, "[object String Iterator]": gojaGetStringIteratorPrototype,
		"[object Map Iterator]": gojaGetMapIteratorPrototype, "[object Set Iterator]": gojaGetSetIteratorPrototype,
	} {
		p := f(r)
		tag, err := r.RunString(`(p) => Object.prototype.toString.call(p)`)
		if err != nil {
			t.Fatal(err)
		}
		fn, _ := goja.AssertFunction(tag)
		got, _ := fn(goja.Undefined(), p)
		if got.String() != want {
			t.Errorf("linked iterator prototype is %v, want %s", got, want)
		}
		if _, ok := p.Get("next").(*goja.Object); !ok {
			t.Errorf("%s has no next", want)
		}
	}
}

// guardedRuntime returns an isolate's runtime, bound to the guards, with
// the default limits and no turn running.
func guardedRuntime(t testing.TB) *Isolate {
	t.Helper()
	i, err := newBlank()
	if err != nil {
		t.Fatal(err)
	}
	i.cfg.Limits = Limits{}.WithDefaults()
	i.lim.limit = i.cfg.Limits.Memory
	// Code run here was never scanned (needs.go): everything is guarded.
	i.builtins.ensureNeeds(needAll)
	return i
}

// TestTemplate_GuardsOnlyInIsolates: the process-wide factories guard an
// isolate's builtins and leave any other runtime with goja's own.
func TestTemplate_GuardsOnlyInIsolates(t *testing.T) {
	deep := `JSON.parse("[".repeat(1500) + "]".repeat(1500)).length`
	if v, err := goja.New().RunString(deep); err != nil || v.String() != "1" {
		t.Fatalf("plain goja: %v %v", v, err)
	}
	i := guardedRuntime(t)
	_, err := i.rt.RunString(deep)
	if err == nil || !strings.Contains(err.Error(), "nests deeper than") {
		t.Fatalf("isolate: err = %v, want the nesting bound", err)
	}
	// The guard is made per isolate, on first use, and keeps goja's name,
	// length and attributes.
	v, err := i.rt.RunString(`const d = Object.getOwnPropertyDescriptor(Array.prototype, "includes");
		[d.writable, d.enumerable, d.configurable, d.value.name, d.value.length, typeof d.value.prototype].join()`)
	if err != nil || v.String() != "true,false,true,includes,1,undefined" {
		t.Fatalf("includes descriptor: %v %v", v, err)
	}
}

// TestTemplate_BindingDropsDeadIsolates: the runtime → isolate binding
// finds an isolate from its runtime, finds none for a plain runtime, and
// keeps no isolate alive.
func TestTemplate_BindingDropsDeadIsolates(t *testing.T) {
	if !mapperFound {
		t.Fatal("goja.Runtime's fieldNameMapper was not located")
	}
	if builtinsOf(goja.New()) != nil {
		t.Fatal("a plain runtime is bound to an isolate")
	}
	var dead []weak.Pointer[goja.Runtime]
	func() {
		for range 20 {
			i := guardedRuntime(t)
			if builtinsOf(i.rt) != i.builtins || i.builtins.i != i {
				t.Fatal("the binding does not find the isolate")
			}
			dead = append(dead, weak.Make(i.rt))
		}
	}()
	testkit.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		runtime.GC()
		for k, w := range dead {
			if w.Value() != nil {
				return fmt.Errorf("runtime %d of 20 is still alive", k)
			}
		}
		return nil
	})
}

type mapped struct {
	Name   string
	hidden int
	Inner
}

type Inner struct{ Depth int }

func (mapped) Greet() string { return "hi" }

// TestTemplate_BindingNamesGoValuesAsGoja: the binding is the runtime's
// field name mapper; it names a Go value's fields and methods as goja does
// without one.
func TestTemplate_BindingNamesGoValuesAsGoja(t *testing.T) {
	names := func(r *goja.Runtime) string {
		t.Helper()
		_ = r.Set("v", mapped{Name: "x", hidden: 1, Inner: Inner{Depth: 2}})
		v, err := r.RunString(`[Object.keys(v).join(), v.Name, v.hidden, v.Depth, v.Inner && v.Inner.Depth, typeof v.Greet].join(";")`)
		if err != nil {
			t.Fatal(err)
		}
		return v.String()
	}
	want := names(goja.New())
	if got := names(guardedRuntime(t).rt); got != want {
		t.Errorf("an isolate names a Go value %q, goja %q", got, want)
	}
}

// TestTemplate_HostGlobals: console, setTimeout and clearTimeout are own,
// enumerable globals of an isolate, built on first read; goja's
// Object.freeze is reached by name; in a plain runtime they are undefined.
func TestTemplate_HostGlobals(t *testing.T) {
	r := goja.New()
	o := r.NewObject()
	gojaObjectFreeze(r, goja.FunctionCall{Arguments: []goja.Value{o}})
	if err := o.Set("x", 1); err == nil && o.Get("x") != nil {
		t.Error("the linked Object.freeze did not freeze")
	}
	if v, err := goja.New().RunString(`typeof console + typeof setTimeout`); err != nil || v.String() != "undefinedundefined" {
		t.Errorf("plain goja: %v %v", v, err)
	}
	i := guardedRuntime(t)
	v, err := i.rt.RunString(`const d = Object.getOwnPropertyDescriptor(globalThis, "console");
		[typeof console.log, typeof setTimeout, typeof clearTimeout, d.writable, d.enumerable, d.configurable,
		 Object.keys(globalThis).filter((k) => /^(console|setTimeout|clearTimeout)$/.test(k)).join("/")].join()`)
	if err != nil || v.String() != "function,function,function,true,true,true,console/setTimeout/clearTimeout" {
		t.Errorf("isolate: %v %v", v, err)
	}
}

// TestTemplate_NativeFunctionMaker: goja's maker of native functions,
// reached by name, makes what Runtime.ToValue and a defined name made.
func TestTemplate_NativeFunctionMaker(t *testing.T) {
	r := goja.New()
	f := gojaNewNativeFunc(r, func(c goja.FunctionCall) goja.Value { return c.Argument(0) }, "echo", 0)
	_ = r.Set("f", f)
	v, err := r.RunString(`const d = Object.getOwnPropertyDescriptor(f, "name");
		[f(7), f.name, f.length, d.writable, d.enumerable, d.configurable, Object.getPrototypeOf(f) === Function.prototype].join()`)
	if err != nil || v.String() != "7,echo,0,false,false,true,true" {
		t.Errorf("made function: %v %v", v, err)
	}
}

// TestTemplate_PlainRuntimeHasNoHostGlobals: a goja runtime that is not an
// isolate's, made in the same process, has none of the globals Cloister
// adds — not even as undefined properties — while an isolate has them all.
func TestTemplate_PlainRuntimeHasNoHostGlobals(t *testing.T) {
	i := guardedRuntime(t) // an isolate exists in the process
	added := append([]string{"console", "setTimeout", "clearTimeout"}, webGlobals...)
	probe := func(r *goja.Runtime) string {
		t.Helper()
		_ = r.Set("names", added)
		v, err := r.RunString(`names.filter((n) => n in globalThis || Object.hasOwn(globalThis, n) ||
			Object.getOwnPropertyNames(globalThis).includes(n) || Object.keys(globalThis).includes(n) ||
			Object.getOwnPropertyDescriptor(globalThis, n) !== undefined).join()`)
		if err != nil {
			t.Fatal(err)
		}
		return v.String()
	}
	plain := goja.New()
	if got := probe(plain); got != "" {
		t.Errorf("plain goja runtime has Cloister's globals: %s", got)
	}
	if v, err := plain.RunString(`typeof URL + typeof console`); err != nil || v.String() != "undefinedundefined" {
		t.Errorf("plain goja: %v %v", v, err)
	}
	if got := probe(i.rt); got != strings.Join(added, ",") {
		t.Errorf("isolate has %q of %q", got, added)
	}
	if gt, err := templateOf(plain.GlobalObject()); err != nil || gt.UnsafeAddr() == uintptr(globalTmpl) {
		t.Errorf("a plain runtime's global object uses Cloister's template (%v)", err)
	}
	if gt, err := templateOf(i.rt.GlobalObject()); err != nil || gt.UnsafeAddr() != uintptr(globalTmpl) {
		t.Errorf("an isolate's global object does not use Cloister's template (%v)", err)
	}
	// goja's own globals are all there, in goja's order, before Cloister's.
	want, err := goja.New().RunString(`Object.getOwnPropertyNames(globalThis).join()`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := i.rt.RunString(`Object.getOwnPropertyNames(globalThis).join()`)
	if err != nil || !strings.HasPrefix(got.String(), want.String()+",") {
		t.Errorf("isolate globals %v, want goja's %v first", got, want)
	}
}

// TestTemplate_GlobalTemplateLayout: the global object's implementation
// and template are where globaltmpl.go looks for them.
func TestTemplate_GlobalTemplateLayout(t *testing.T) {
	if globalTmpl == nil || globalSelf == nil || globalSelf.String() != "*goja.templatedObject" {
		t.Fatalf("global template not located: %v", globalSelf)
	}
	tmpl, err := templateOf(goja.New().GlobalObject())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []func() error{
		func() error { _, err := tmplProps(tmpl); return err },
		func() error { _, err := tmplNames(tmpl); return err },
		func() error { _, err := tmplSymProps(tmpl); return err },
	} {
		if err := f(); err != nil {
			t.Error(err)
		}
	}
}

// TestNew_DropsModuleFunction: once New returns, the runtime's last
// result (a private field of goja's vm) is no longer the module function,
// which an idle isolate would otherwise keep.
func TestNew_DropsModuleFunction(t *testing.T) {
	s, err := Compile("m.js", []byte(`let n = 0; export function receive() { return ++n; }`))
	if err != nil {
		t.Fatal(err)
	}
	i, err := New(s, Config{Name: "m"})
	if err != nil {
		t.Fatal(err)
	}
	vm := reflect.ValueOf(i.rt).Elem().FieldByName("vm")
	if !vm.IsValid() || vm.Kind() != reflect.Pointer || vm.IsNil() {
		t.Fatal("goja.Runtime has no vm")
	}
	res := vm.Elem().FieldByName("result")
	if !res.IsValid() || res.Type() != reflect.TypeOf((*goja.Value)(nil)).Elem() {
		t.Fatal("goja's vm has no result Value")
	}
	if v, _ := reflect.NewAt(res.Type(), unsafe.Pointer(res.UnsafeAddr())).Elem().Interface().(goja.Value); v != nil && !goja.IsUndefined(v) {
		t.Errorf("the runtime's last result is %v, want undefined", v)
	}
}

// TestNew_ExportedValuesAreMeasured: the memory walk still reaches what
// only the module's exports hold, though the exports object is not kept.
func TestNew_ExportedValuesAreMeasured(t *testing.T) {
	measure := func(src string) int64 {
		t.Helper()
		s, err := Compile("m.js", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		// A generous CPU limit: the module builds its array under the race
		// detector on a loaded machine too.
		i, err := New(s, Config{Name: "m", Limits: Limits{CPU: time.Minute}})
		if err != nil {
			t.Fatal(err)
		}
		bytes, _ := i.measureHeap(i.lim.shared)
		return bytes
	}
	const big = `Array.from({length: 5000}, (_, k) => ({k}))`
	kept := measure(`export const big = ` + big + `; export function receive() {}`)
	dropped := measure(`const big = ` + big + `; export function receive() {}`)
	if kept-dropped < 5000*16 {
		t.Errorf("an exported array of 5,000 objects measured %d bytes, %d when not exported", kept, dropped)
	}
}
