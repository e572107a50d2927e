package isolate

import (
	"fmt"
	"reflect"
	"unsafe"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"
)

// Guards installed once per process.
//
// goja builds most builtins lazily from process-wide templates: a
// template maps each property name of, say, Array.prototype to a factory
// that makes the property's value for one runtime when a script first
// reads it. Cloister replaces the factories of the builtins it guards, once
// per process, before any isolate exists (installTemplateGuards). A
// replaced factory calls goja's own, then, when the runtime belongs to an
// isolate, puts the guard in front of the value it made. An isolate pays
// for a guard only when its script first reaches the builtin, and then no
// more than goja's own builtin costs; a spawn pays nothing.
//
// Constructors (ArrayBuffer and the typed arrays, Function and its async
// and generator kin, RegExp) are not template values but objects built
// once per runtime; their guard is put into the object itself (its call
// and construct functions), so that every path to the constructor —
// global, prototype's constructor, species, subclass, Reflect.construct —
// meets it.
//
// None of this is goja's public API. Every private field or type used is
// located by name and checked for its type when the process starts
// (probeLayout); if anything differs, templateErr says what and no isolate
// can be made (New fails with it) rather than run unguarded. The tests in
// template_test.go fail loudly in that case.

type propFactory = func(*goja.Runtime) goja.Value

type gojaLayout struct {
	vpType      reflect.Type // *goja.valueProperty
	vpValue     uintptr      // offset of valueProperty.value
	nfType      reflect.Type // *goja.nativeFuncObject
	nfF         uintptr      // offset of nativeFuncObject.f
	nfConstruct uintptr      // offset of nativeFuncObject.construct
	arrayType   reflect.Type // *goja.arrayObject
	arrayValues uintptr      // offset of arrayObject.values
	sparseType  reflect.Type // *goja.sparseArrayObject
	typedType   reflect.Type // *goja.typedArrayObject
	typedCtor   uintptr      // offset of typedArrayObject.defaultCtor
}

var (
	layout gojaLayout
	// templates are the prototype templates whose factories are replaced,
	// by the name of the object they build.
	templates   = map[string]map[unistring.String]propFactory{}
	symTemplate = map[string]map[*goja.Symbol]propFactory{} // the same templates' symbol-keyed factories
	templateErr error
	// globalFactories are goja's own factories of the global object's
	// properties; originals, those of every guarded property.
	globalFactories = map[string]propFactory{}
	originals       = map[string]map[string]propFactory{}
)

var (
	valueType     = reflect.TypeOf((*goja.Value)(nil)).Elem()
	runtimePtr    = reflect.TypeOf((*goja.Runtime)(nil))
	callFuncType  = reflect.TypeOf((func(goja.FunctionCall) goja.Value)(nil))
	constructType = reflect.TypeOf((func([]goja.Value, *goja.Object) *goja.Object)(nil))
)

func init() {
	templateErr = installTemplateGuards()
}

// selfOf returns the reflect value of o's implementation (a pointer to one
// of goja's object types).
func selfOf(o *goja.Object) (reflect.Value, error) {
	if selfField < 0 {
		return reflect.Value{}, fmt.Errorf("goja.Object has no field self")
	}
	s := reflect.ValueOf(o).Elem().Field(selfField)
	if s.Kind() != reflect.Interface || s.IsNil() || s.Elem().Kind() != reflect.Pointer {
		return reflect.Value{}, fmt.Errorf("goja.Object.self is not a pointer")
	}
	return s.Elem(), nil
}

// templateProps returns the factory map of the template o was built from.
func templateProps(o *goja.Object) (map[unistring.String]propFactory, error) {
	tmpl, err := templateOf(o)
	if err != nil {
		return nil, err
	}
	m, err := tmplProps(tmpl)
	if err != nil {
		return nil, err
	}
	return *m, nil
}

// templateSymProps returns the symbol-keyed factory map of the template o
// was built from, made if the template has none yet.
func templateSymProps(o *goja.Object) (map[*goja.Symbol]propFactory, error) {
	tmpl, err := templateOf(o)
	if err != nil {
		return nil, err
	}
	m, err := tmplSymProps(tmpl)
	if err != nil {
		return nil, err
	}
	return *m, nil
}

// fieldOffset returns the offset of field name of struct type t, checking its type.
func fieldOffset(t reflect.Type, name string, want reflect.Type) (uintptr, error) {
	f, ok := t.FieldByName(name)
	if !ok || f.Type != want {
		return 0, fmt.Errorf("%s.%s is not a %s", t, name, want)
	}
	return f.Offset, nil
}

// probeLayout finds goja's private layout on a scratch runtime.
func probeLayout(r *goja.Runtime) error {
	arrayProto := r.Get("Array").(*goja.Object).Get("prototype").(*goja.Object)
	props, err := templateProps(arrayProto)
	if err != nil {
		return err
	}
	f := props["join"]
	if f == nil {
		return fmt.Errorf("Array.prototype has no join factory")
	}
	vp := reflect.TypeOf(f(r))
	if vp == nil || vp.Kind() != reflect.Pointer || vp.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("Array.prototype.join's factory makes a %v", vp)
	}
	if layout.vpValue, err = fieldOffset(vp.Elem(), "value", valueType); err != nil {
		return err
	}
	for _, fl := range []string{"writable", "configurable", "enumerable", "accessor"} {
		if _, err := fieldOffset(vp.Elem(), fl, reflect.TypeOf(false)); err != nil {
			return err
		}
	}
	layout.vpType = vp
	self, err := selfOf(r.Get("Function").(*goja.Object))
	if err != nil {
		return err
	}
	nf := self.Type()
	if layout.nfF, err = fieldOffset(nf.Elem(), "f", callFuncType); err != nil {
		return err
	}
	if layout.nfConstruct, err = fieldOffset(nf.Elem(), "construct", constructType); err != nil {
		return err
	}
	layout.nfType = nf
	arr, err := selfOf(r.NewArray(1, 2))
	if err != nil {
		return err
	}
	if arr.Type().Elem().Name() != "arrayObject" {
		return fmt.Errorf("an array is a %s", arr.Type())
	}
	if layout.arrayValues, err = fieldOffset(arr.Type().Elem(), "values", reflect.TypeOf([]goja.Value(nil))); err != nil {
		return err
	}
	layout.arrayType = arr.Type()
	sv, err := r.RunString("var a = []; a[1e8] = 1; a")
	if err != nil {
		return err
	}
	sparse, err := selfOf(sv.(*goja.Object))
	if err != nil {
		return err
	}
	if sparse.Type().Elem().Name() != "sparseArrayObject" {
		return fmt.Errorf("a sparse array is a %s", sparse.Type())
	}
	layout.sparseType = sparse.Type()
	tv, err := r.RunString("new Uint8Array(1)")
	if err != nil {
		return err
	}
	typed, err := selfOf(tv.(*goja.Object))
	if err != nil {
		return err
	}
	if typed.Type().Elem().Name() != "typedArrayObject" {
		return fmt.Errorf("a typed array is a %s", typed.Type())
	}
	if layout.typedCtor, err = fieldOffset(typed.Type().Elem(), "defaultCtor", reflect.TypeOf((*goja.Object)(nil))); err != nil {
		return err
	}
	layout.typedType = typed.Type()
	return nil
}

// installTemplateGuards locates goja's templates and replaces the
// factories of every guarded builtin (see guards in builtins.go).
func installTemplateGuards() error {
	r := goja.New()
	if err := probeLayout(r); err != nil {
		return fmt.Errorf("goja's private layout is not the one Cloister knows: %w", err)
	}
	if err := probeMapperField(); err != nil {
		return fmt.Errorf("goja's private layout is not the one Cloister knows: %w", err)
	}
	// Globals are guarded in Cloister's copy of the global template
	// (globaltmpl.go), which only isolates use.
	if err := copyGlobalTemplate(r.GlobalObject()); err != nil {
		return fmt.Errorf("goja's private layout is not the one Cloister knows: globalThis: %w", err)
	}
	useIsolateGlobal(r)
	objs := map[string]*goja.Object{"globalThis": r.GlobalObject()}
	for _, path := range []struct{ name, ctor string }{
		{"Array.prototype", "Array"}, {"String.prototype", "String"}, {"Function.prototype", "Function"},
		{"BigInt.prototype", "BigInt"},
	} {
		objs[path.name] = r.Get(path.ctor).(*goja.Object).Get("prototype").(*goja.Object)
	}
	objs["Object"] = r.Get("Object").(*goja.Object)
	objs["%TypedArray%.prototype"] = r.Get("Uint8Array").(*goja.Object).Prototype().Get("prototype").(*goja.Object)
	for name, o := range objs {
		props, err := templateProps(o)
		if err != nil {
			return fmt.Errorf("goja's private layout is not the one Cloister knows: %s: %w", name, err)
		}
		templates[name] = props
		if symTemplate[name], err = templateSymProps(o); err != nil {
			return fmt.Errorf("goja's private layout is not the one Cloister knows: %s: %w", name, err)
		}
	}
	for name, f := range templates["globalThis"] {
		globalFactories[string(name)] = f
	}
	for _, g := range templateGuards {
		var orig propFactory
		if g.sym != nil {
			orig = symTemplate[g.object][g.sym]
		} else {
			orig = templates[g.object][unistring.String(g.name)]
		}
		if orig == nil {
			return fmt.Errorf("goja's %s has no %s", g.object, g.name)
		}
		if originals[g.object] == nil {
			originals[g.object] = map[string]propFactory{}
		}
		originals[g.object][g.name] = orig
		g := g
		guarded := func(r *goja.Runtime) goja.Value {
			v := orig(r)
			b := builtinsOf(r)
			if b == nil {
				return v
			}
			return b.guardProp(v, g)
		}
		if g.sym != nil {
			symTemplate[g.object][g.sym] = guarded
		} else {
			templates[g.object][unistring.String(g.name)] = guarded
		}
	}
	if err := installWebTemplates(); err != nil {
		return err
	}
	return installHostGlobals(objs["globalThis"])
}

// templateGuard is one guarded template property: make builds the guard
// of an isolate from goja's original function, or, for a constructor,
// patches it in place (see patchCtor) and returns nil.
type templateGuard struct {
	object, name string
	sym          *goja.Symbol // for a symbol-keyed property; name is then "@@" and its description
	make         func(b *builtins, orig *goja.Object) func(goja.FunctionCall) goja.Value
	ctor         func(b *builtins, orig *goja.Object)
}

// guardProp puts the guard of g in front of the property value v that
// goja's factory made for b's runtime.
func (b *builtins) guardProp(v goja.Value, g templateGuard) goja.Value {
	rv := reflect.ValueOf(v)
	if rv.Type() != layout.vpType {
		// A data property that is writable, enumerable and configurable is
		// stored as the value itself: goja's methods never are.
		panic(fmt.Sprintf("isolate: %s.%s is a %T", g.object, g.name, v))
	}
	slot := (*goja.Value)(unsafe.Add(rv.UnsafePointer(), layout.vpValue))
	orig, ok := (*slot).(*goja.Object)
	if !ok {
		panic(fmt.Sprintf("isolate: %s.%s is not an object", g.object, g.name))
	}
	if g.ctor != nil {
		g.ctor(b, orig)
		return v
	}
	*slot = b.newMethod(g.name, orig, g.make(b, orig))
	return v
}

// original returns goja's own method name of object for b's runtime (a
// new function object each time).
func (b *builtins) original(object, name string) goja.Callable {
	v := originals[object][name](b.rt)
	rv := reflect.ValueOf(v)
	f, ok := goja.AssertFunction(*(*goja.Value)(unsafe.Add(rv.UnsafePointer(), layout.vpValue)))
	if !ok {
		panic("isolate: " + object + "." + name + " is not a function")
	}
	return f
}

// newMethod makes a native method with the name and length of orig.
func (b *builtins) newMethod(name string, orig *goja.Object, f func(goja.FunctionCall) goja.Value) *goja.Object {
	o := gojaNewNativeFunc(b.rt, f, unistring.NewFromString(name), 0)
	_ = o.DefineDataProperty("length", orig.Get("length"), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	return o
}

// patchCtor replaces the call and construct functions of the native
// constructor o with the results of wrapCall and wrapConstruct, which are
// given goja's own. o must be one of goja's native functions.
func patchCtor(o *goja.Object,
	wrapCall func(func(goja.FunctionCall) goja.Value) func(goja.FunctionCall) goja.Value,
	wrapConstruct func(func([]goja.Value, *goja.Object) *goja.Object) func([]goja.Value, *goja.Object) *goja.Object) {
	self, err := selfOf(o)
	if err != nil || self.Type() != layout.nfType {
		panic(fmt.Sprintf("isolate: a guarded constructor is a %v", self.Type()))
	}
	p := self.UnsafePointer()
	f := (*func(goja.FunctionCall) goja.Value)(unsafe.Add(p, layout.nfF))
	c := (*func([]goja.Value, *goja.Object) *goja.Object)(unsafe.Add(p, layout.nfConstruct))
	if *f != nil && wrapCall != nil {
		*f = wrapCall(*f)
	}
	if *c != nil && wrapConstruct != nil {
		*c = wrapConstruct(*c)
	}
}

// ctorGuard is the guard of a template property that is a constructor
// guarded in place.
func ctorGuard(k ctorKind) func(b *builtins, orig *goja.Object) {
	return func(b *builtins, _ *goja.Object) { b.ensure(k) }
}

// templateGuards lists every guarded template property.
var templateGuards = func() []templateGuard {
	g := []templateGuard{
		{object: "String.prototype", name: "repeat", make: method(guardRepeat)},
		{object: "String.prototype", name: "padStart", make: method(guardPad(true))},
		{object: "String.prototype", name: "padEnd", make: method(guardPad(false))},
		{object: "String.prototype", name: "concat", make: method(guardStringConcat)},
		{object: "String.prototype", name: "match", make: method(guardRegExpArg("match"))},
		{object: "String.prototype", name: "matchAll", make: method(guardRegExpArg("matchAll"))},
		{object: "String.prototype", name: "search", make: method(guardRegExpArg("search"))},
		{object: "String.prototype", name: "replace", make: method(guardReplace("replace"))},
		{object: "String.prototype", name: "replaceAll", make: method(guardReplace("replaceAll"))},
		{object: "String.prototype", name: "normalize", make: method(guardStringCost("normalize", 150, 3))},
		{object: "String.prototype", name: "split", make: method(guardStringCost("split", 60, 48))},
		{object: "String.prototype", name: "localeCompare", make: method(guardStringCost("localeCompare", 150, 0))},
		{object: "String.prototype", name: "toUpperCase", make: method(guardStringCost("toUpperCase", 20, 3))},
		{object: "String.prototype", name: "toLowerCase", make: method(guardStringCost("toLowerCase", 20, 3))},
		{object: "String.prototype", name: "toLocaleUpperCase", make: method(guardStringCost("toLocaleUpperCase", 20, 3))},
		{object: "String.prototype", name: "toLocaleLowerCase", make: method(guardStringCost("toLocaleLowerCase", 20, 3))},
		{object: "Array.prototype", name: "fill", make: method(guardFill)},
		{object: "Array.prototype", name: "concat", make: method(guardArrayConcat)},
		{object: "Array.prototype", name: "join", make: method(guardJoin)},
		{object: "Array.prototype", name: "toLocaleString", make: method(guardDepth("Array.prototype.toLocaleString"))},
		{object: "Array.prototype", name: "includes", make: method(arraySearch("includes"))},
		{object: "Array.prototype", name: "indexOf", make: method(arraySearch("indexOf"))},
		{object: "Array.prototype", name: "lastIndexOf", make: method(arraySearch("lastIndexOf"))},
		{object: "Array.prototype", name: "flat", make: method(guardFlat(false))},
		{object: "Array.prototype", name: "flatMap", make: method(guardFlat(true))},
		{object: "Array.prototype", name: "sort", make: method(guardSort(false, false))},
		{object: "Array.prototype", name: "toSorted", make: method(guardSort(false, true))},
		{object: "Array.prototype", name: "toString", ctor: ctorGuard(ctorArrayToString)},
		{object: "Array.prototype", name: "constructor", ctor: ctorGuard(ctorArray)},
		// The native iterators are guarded when a script first reaches
		// what makes them (see guardIterator); arguments objects, which
		// carry Array.prototype.values without the template, are in needs.go.
		{object: "Array.prototype", name: "values", ctor: ctorGuard(ctorIterArray)},
		{object: "Array.prototype", name: "keys", ctor: ctorGuard(ctorIterArray)},
		{object: "Array.prototype", name: "entries", ctor: ctorGuard(ctorIterArray)},
		{object: "Array.prototype", name: "@@iterator", sym: goja.SymIterator, ctor: ctorGuard(ctorIterArray)},
		{object: "%TypedArray%.prototype", name: "values", ctor: ctorGuard(ctorIterArray)},
		{object: "%TypedArray%.prototype", name: "keys", ctor: ctorGuard(ctorIterArray)},
		{object: "%TypedArray%.prototype", name: "entries", ctor: ctorGuard(ctorIterArray)},
		{object: "%TypedArray%.prototype", name: "@@iterator", sym: goja.SymIterator, ctor: ctorGuard(ctorIterArray)},
		{object: "String.prototype", name: "@@iterator", sym: goja.SymIterator, ctor: ctorGuard(ctorIterString)},
		{object: "globalThis", name: "Map", ctor: ctorGuard(ctorIterMap)},
		{object: "globalThis", name: "Set", ctor: ctorGuard(ctorIterSet)},
		{object: "%TypedArray%.prototype", name: "sort", make: method(guardSort(true, false))},
		{object: "%TypedArray%.prototype", name: "toSorted", make: method(guardSort(true, true))},
		{object: "%TypedArray%.prototype", name: "toString", ctor: ctorGuard(ctorArrayToString)},
		{object: "Function.prototype", name: "constructor", ctor: ctorGuard(ctorFunction)},
		{object: "globalThis", name: "Function", ctor: ctorGuard(ctorFunction)},
		{object: "globalThis", name: "Array", ctor: ctorGuard(ctorArray)},
		{object: "globalThis", name: "RegExp", ctor: ctorGuard(ctorRegExp)},
		{object: "globalThis", name: "eval", make: method(guardEval)},
		{object: "globalThis", name: "JSON", ctor: guardJSON},
		{object: "globalThis", name: "ArrayBuffer", ctor: ctorGuard(ctorTypedArray)},
	}
	for _, ta := range typedArrayCtors {
		g = append(g, templateGuard{object: "globalThis", name: ta.name, ctor: ctorGuard(ctorTypedArray)})
	}
	for _, name := range []string{"every", "some", "forEach", "reduce", "reduceRight",
		"find", "findIndex", "findLast", "findLastIndex", "reverse", "shift", "unshift",
		"copyWithin", "toReversed", "toSpliced", "with", "push", "pop", "at"} {
		g = append(g, templateGuard{object: "Array.prototype", name: name, make: method(guardArrayLoop(false))})
	}
	for _, name := range []string{"map", "filter", "splice", "slice"} { // species methods (dos_species.go)
		g = append(g, templateGuard{object: "Array.prototype", name: name, make: method(guardArrayLoop(true))})
	}
	return g
}()
