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
	if f, ok := t.Elem().FieldByName("val"); !ok || f.Type != reflect.TypeOf((*goja.Object)(nil)) {
		ctxErr = fmt.Errorf("%s has no val of type *goja.Object", t)
		return
	}
	ctxValType = t
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
	ctx := (*goja.Object)(unsafe.Pointer(reflect.NewAt(ctxValType.Elem(), p).Elem().FieldByName("val").Pointer()))
	// Object.prototype, as a plain object's: the script has not run yet.
	_ = ctx.SetPrototype(i.rt.NewObject().Prototype())
	gojaObjectPreventExtensions(i.rt, goja.FunctionCall{This: goja.Undefined(), Arguments: []goja.Value{ctx}})
	return ctx
}
