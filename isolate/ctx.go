package isolate

import (
	"fmt"
	"reflect"
	"sync"
	"unsafe"
	_ "unsafe" // go:linkname

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"
)

// The ctx object is built from a process-wide template, the way goja
// builds its builtins (template.go): a spawn makes an empty object bound
// to the template, and each property's value — a native function, the
// self handle, env, storage — is made the first time a script reads it.
// An actor that never touches ctx, or only ctx.self, does not pay for the
// rest (about 8 KB per isolate when it was built eagerly).
//
// The object is frozen from birth: it is not extensible, and every
// property the template makes is non-writable and non-configurable (and
// enumerable), so a script sees what Object.freeze made before — the same
// keys in the same order, the same descriptors, Object.isFrozen true, the
// prototype Object.prototype, Symbol.toStringTag "Context" — whichever
// property it reads first. Reading the keys or the descriptors makes the
// values, as a frozen object's would be there already.

// ctxNames are ctx's properties in order; storage only for a process
// that has storage.
var ctxNames = []string{"trapExits", "isNotification", "deferReply", "storage", "self", "env", "stop", "sendAfter", "cancelTimer", "revocable"}

var (
	ctxOnce      sync.Once
	ctxTemplates [2]unsafe.Pointer // *goja.objectTemplate: without, with storage
	ctxValType   reflect.Type      // *goja.templatedObject
	ctxValOff    uintptr           // offset of its val, the *goja.Object
	ctxErr       error
)

//go:linkname gojaNewObjectTemplate github.com/dop251/goja.newObjectTemplate
func gojaNewObjectTemplate() unsafe.Pointer

//go:linkname gojaTemplatePutStr github.com/dop251/goja.(*objectTemplate).putStr
func gojaTemplatePutStr(t unsafe.Pointer, name unistring.String, f func(*goja.Runtime) goja.Value)

//go:linkname gojaTemplatePutSym github.com/dop251/goja.(*objectTemplate).putSym
func gojaTemplatePutSym(t unsafe.Pointer, s *goja.Symbol, f func(*goja.Runtime) goja.Value)

//go:linkname gojaNewTemplatedObject github.com/dop251/goja.(*Runtime).newTemplatedObject
func gojaNewTemplatedObject(r *goja.Runtime, tmpl unsafe.Pointer, obj *goja.Object) unsafe.Pointer

//go:linkname gojaValueProp github.com/dop251/goja.valueProp
func gojaValueProp(value goja.Value, writable, enumerable, configurable bool) goja.Value

//go:linkname gojaObjectPreventExtensions github.com/dop251/goja.(*Runtime).object_preventExtensions
func gojaObjectPreventExtensions(r *goja.Runtime, call goja.FunctionCall) goja.Value

// buildCtxTemplates makes the two ctx templates and checks that a
// templated object is the type this file reads its object from.
func buildCtxTemplates() {
	// The global object is built from a template: its implementation's
	// type is the one newTemplatedObject returns.
	self, err := selfOf(goja.New().GlobalObject())
	if err != nil {
		ctxErr = err
		return
	}
	t := self.Type()
	if t.Kind() != reflect.Pointer || t.Elem().Name() != "templatedObject" {
		ctxErr = fmt.Errorf("the global object is a %s, not a templated object", t)
		return
	}
	f, ok := t.Elem().FieldByName("val")
	if !ok || f.Type != reflect.TypeOf((*goja.Object)(nil)) {
		ctxErr = fmt.Errorf("%s has no val of type *goja.Object", t)
		return
	}
	// val is promoted from the embedded baseObject: its offset in the
	// templated object is the sum along the path.
	off := uintptr(0)
	for k := range f.Index {
		off += t.Elem().FieldByIndex(f.Index[:k+1]).Offset
	}
	// ctx's prototype is the global object's, Object.prototype, made by the
	// global template's factory when a script first asks for it.
	protoOf, err := templateProtoFactory(self)
	if err != nil {
		ctxErr = err
		return
	}
	ctxValType, ctxValOff = t, off
	for k := range ctxTemplates {
		tmpl := gojaNewObjectTemplate()
		for _, name := range ctxNames {
			if name == "storage" && k == 0 {
				continue
			}
			gojaTemplatePutStr(tmpl, unistring.String(name), ctxFactory(name))
		}
		gojaTemplatePutSym(tmpl, goja.SymToStringTag, func(r *goja.Runtime) goja.Value {
			return gojaValueProp(r.ToValue("Context"), false, false, false)
		})
		*(*func(*goja.Runtime) *goja.Object)(unsafe.Add(tmpl, protoOf.Offset)) = *protoOf.Factory
		ctxTemplates[k] = tmpl
	}
}

// ctxFactory makes the template factory of ctx's property name.
func ctxFactory(name string) func(*goja.Runtime) goja.Value {
	return func(r *goja.Runtime) goja.Value {
		b := builtinsOf(r)
		if b == nil {
			// Only an isolate's runtime is ever given a ctx.
			panic("isolate: a ctx outside an isolate")
		}
		return gojaValueProp(b.i.ctxValue(name), false, true, false)
	}
}

// newContext makes the ctx object passed to every handler: empty, bound
// to the template of the process's shape, frozen.
func (i *Isolate) newContext() *goja.Object {
	ctxOnce.Do(buildCtxTemplates)
	if ctxErr != nil {
		panic(fmt.Errorf("goja's private layout is not the one Cloister knows: ctx: %w", ctxErr))
	}
	if err := i.setupSignals(); err != nil {
		panic(err)
	}
	k := 0
	if i.cfg.Storage != nil {
		k = 1
	}
	p := gojaNewTemplatedObject(i.rt, ctxTemplates[k], nil)
	ctx := *(**goja.Object)(unsafe.Add(p, ctxValOff))
	gojaObjectPreventExtensions(i.rt, goja.FunctionCall{This: goja.Undefined(), Arguments: []goja.Value{ctx}})
	return ctx
}

// protoFactory is where a template keeps the factory of its objects'
// prototype, and the factory.
type protoFactory struct {
	Offset  uintptr
	Factory *func(*goja.Runtime) *goja.Object
}

// templateProtoFactory returns the prototype factory of the template the
// templated object self (a *goja.templatedObject) was built from.
func templateProtoFactory(self reflect.Value) (protoFactory, error) {
	tmpl := self.Elem().FieldByName("tmpl")
	if !tmpl.IsValid() || tmpl.Kind() != reflect.Pointer || tmpl.IsNil() {
		return protoFactory{}, fmt.Errorf("%s has no template", self.Type())
	}
	f, ok := tmpl.Type().Elem().FieldByName("protoFactory")
	if !ok || len(f.Index) != 1 || f.Type != reflect.TypeOf((func(*goja.Runtime) *goja.Object)(nil)) {
		return protoFactory{}, fmt.Errorf("%s has no protoFactory", tmpl.Type())
	}
	fp := (*func(*goja.Runtime) *goja.Object)(unsafe.Add(tmpl.UnsafePointer(), f.Offset))
	if *fp == nil {
		return protoFactory{}, fmt.Errorf("the global template makes no prototype")
	}
	return protoFactory{Offset: f.Offset, Factory: fp}, nil
}
