package isolate

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"unsafe"
	_ "unsafe" // go:linkname

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
)

// A script's rewritten operators (concat.go, bigint.go) call the helper
// %big. The module function (compile.go) takes it as its one parameter:
// `(function (%big) { ...module... })`, called with the isolate's helper.
// Inside the module every reference to %big is that parameter, a binding
// of the module's own scope that no source can name, so no script can
// read, write or shadow it; the global scope has no such binding, and an
// isolate pays for nothing but the helper's function object (binding it
// as a global lexical declaration ran a program per isolate and kept the
// binding and a second function: about 0.7 KB per idle actor).
//
// A parameter is visible through the function's `arguments` object: a
// module whose code mentions `arguments` or may call eval directly
// (needArguments) keeps a module function without parameters, and binds
// the helper globally as code made at run time does (bindOps).

// takeOpsParam gives prg's module function the parameter %big, unless n
// says its code may read the function's arguments; it reports whether it
// did. prg must be compile.go's wrapper, `(function () {...})`.
func takeOpsParam(prg *ast.Program, n needs) bool {
	if n&needArguments != 0 || len(prg.Body) != 1 {
		return false
	}
	st, ok := prg.Body[0].(*ast.ExpressionStatement)
	if !ok {
		return false
	}
	f, ok := st.Expression.(*ast.FunctionLiteral)
	if !ok || f.ParameterList == nil || len(f.ParameterList.List) != 0 || f.ParameterList.Rest != nil {
		return false
	}
	f.ParameterList.List = []*ast.Binding{{Target: ident(bigFnName, f.Idx0())}}
	return true
}

// moduleArgs is what the module function of s is called with.
func (b *builtins) moduleArgs(s *Script) []goja.Value {
	if !s.opsParam {
		return nil
	}
	return []goja.Value{b.opsHelper()}
}

// opsHelper makes the function the rewritten operators call. It is made
// as goja makes its builtin functions, from a template, so that it has no
// properties until one is read (none ever is: no script can reach it):
// about 250 bytes instead of the 640 of a native function with its name
// and length. If goja's layout is not the one opsHelperLayout knows, it is
// a native function.
func (b *builtins) opsHelper() *goja.Object {
	if helperTmpl.ok() {
		p := gojaNewTemplatedFuncObject(b.rt, helperTmpl.tmpl, nil, b.bigHelper, nil)
		return *(**goja.Object)(unsafe.Add(p, helperTmpl.valOff))
	}
	return gojaNewNativeFunc(b.rt, b.bigHelper, "big", 0)
}

//go:linkname gojaNewTemplatedFuncObject github.com/dop251/goja.(*Runtime).newTemplatedFuncObject
func gojaNewTemplatedFuncObject(r *goja.Runtime, tmpl unsafe.Pointer, obj *goja.Object, f func(goja.FunctionCall) goja.Value, ctor func([]goja.Value, *goja.Object) *goja.Object) unsafe.Pointer

// helperTmpl is the helper's template, empty, and where a templated
// function object keeps its *goja.Object.
var helperTmpl helperLayout

type helperLayout struct {
	once   sync.Once
	tmpl   unsafe.Pointer // *goja.objectTemplate
	valOff uintptr
	err    error
}

// ok finds the layout, once, and reports whether it is known.
func (h *helperLayout) ok() bool {
	h.once.Do(func() { h.tmpl, h.valOff, h.err = opsHelperLayout() })
	return h.err == nil
}

// opsHelperLayout finds, in goja's own Function.prototype (a templated
// function object), the type and the offset of its val, and checks that a
// helper made at that offset is a function that calls its Go function.
func opsHelperLayout() (unsafe.Pointer, uintptr, error) {
	rt := goja.New()
	fp := rt.Get("Function").ToObject(rt).Get("prototype").ToObject(rt)
	self, err := selfOf(fp)
	if err != nil {
		return nil, 0, err
	}
	t := self.Type()
	if t.Kind() != reflect.Pointer || t.Elem().Name() != "templatedFuncObject" {
		return nil, 0, fmt.Errorf("Function.prototype is a %s, not a templated function object", t)
	}
	if f, ok := t.Elem().FieldByName("f"); !ok || f.Type != reflect.TypeOf((func(goja.FunctionCall) goja.Value)(nil)) {
		return nil, 0, fmt.Errorf("%s has no f of type func(goja.FunctionCall) goja.Value", t)
	}
	f, ok := t.Elem().FieldByName("val")
	if !ok || f.Type != reflect.TypeOf((*goja.Object)(nil)) {
		return nil, 0, fmt.Errorf("%s has no val of type *goja.Object", t)
	}
	off := uintptr(0)
	for k := range f.Index {
		off += t.Elem().FieldByIndex(f.Index[:k+1]).Offset
	}
	tmpl := gojaNewObjectTemplate()
	marker := rt.ToValue("cloister-helper")
	p := gojaNewTemplatedFuncObject(rt, tmpl, nil, func(c goja.FunctionCall) goja.Value {
		if len(c.Arguments) == 1 && c.Arguments[0].StrictEquals(marker) {
			return marker
		}
		return goja.Undefined()
	}, nil)
	obj := *(**goja.Object)(unsafe.Add(p, off))
	if obj == nil {
		return nil, 0, errors.New("a templated function object has no val where expected")
	}
	if s, err := selfOf(obj); err != nil || s.Type() != t || s.UnsafePointer() != p {
		return nil, 0, errors.New("a templated function object's val is not its object")
	}
	call, ok := goja.AssertFunction(obj)
	if !ok {
		return nil, 0, errors.New("a templated function object is not callable")
	}
	if v, err := call(goja.Undefined(), marker); err != nil || !v.StrictEquals(marker) {
		return nil, 0, fmt.Errorf("a templated function object does not call its Go function (%v, %v)", v, err)
	}
	return tmpl, off, nil
}

// Code made at run time is sloppy unless it says otherwise, and in a
// `with` statement's body every name is looked up in the statement's
// object first: `with ({"%big": f}) { a + b }` would call f, which could
// hand goja's own operators BigInts of any size. A program whose
// rewritten operators would sit in a with statement's body is refused.
// (A module is strict code, where goja refuses `with` itself.)

// refuseWithHelper throws a SyntaxError if prg, rewritten, names %big in
// the body of a with statement.
func (b *builtins) refuseWithHelper(prg *ast.Program) {
	if withNamesHelper(prg) {
		panic(b.i.newError("SyntaxError", "a with statement cannot hold the operators + , template literals or BigInt arithmetic in code made at run time"))
	}
}

// withNamesHelper reports whether an identifier %big lies in the body of
// a with statement of prg. It walks with its own stack, as rewriteOps.
func withNamesHelper(prg *ast.Program) bool {
	type item struct {
		v      reflect.Value
		inWith bool
	}
	stack := []item{{reflect.ValueOf(prg), false}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		v, in := it.v, it.inWith
		switch v.Kind() {
		case reflect.Interface:
			if !v.IsNil() {
				stack = append(stack, item{v.Elem(), in})
			}
		case reflect.Pointer:
			if v.IsNil() {
				continue
			}
			switch n := v.Interface().(type) {
			case *ast.Identifier:
				if in && n.Name.String() == bigFnName {
					return true
				}
				continue
			case *ast.WithStatement:
				stack = append(stack, item{reflect.ValueOf(n.Object), in}, item{reflect.ValueOf(n.Body), true})
				continue
			}
			if e := v.Elem(); e.Kind() == reflect.Struct && e.Type().PkgPath() == astPkg {
				stack = append(stack, item{e, in})
			}
		case reflect.Struct:
			for k := 0; k < v.NumField(); k++ {
				if v.Type().Field(k).IsExported() {
					stack = append(stack, item{v.Field(k), in})
				}
			}
		case reflect.Slice:
			for k := 0; k < v.Len(); k++ {
				stack = append(stack, item{v.Index(k), in})
			}
		}
	}
	return false
}
