package isolate

import (
	"fmt"
	"reflect"
	"unsafe"

	"github.com/dop251/goja"
)

// The template factories (template.go, hostglobals.go, ctx.go) are given
// only the runtime, and must find the isolate it belongs to. An isolate's
// builtins record is its runtime's field name mapper: goja keeps the
// mapper in the runtime and asks it for the JS names of a Go struct's
// fields and methods, which the builtins answer as goja does without one
// (each field and method by its Go name). builtinsOf reads the mapper back
// at its offset in goja.Runtime, located when the process starts
// (probeMapperField). Nothing else in Cloister sets a runtime's mapper.
//
// The runtime and its isolate keep each other alive and die together; a
// spawn pays neither a registry entry nor a weak pointer, and a lookup is a
// load and a type check.

// mapperOff is the offset of goja.Runtime's fieldNameMapper, once
// mapperFound.
var (
	mapperOff   uintptr
	mapperFound bool
)

// probeMapperField locates goja.Runtime's field name mapper.
func probeMapperField() error {
	f, ok := reflect.TypeOf((*goja.Runtime)(nil)).Elem().FieldByName("fieldNameMapper")
	if !ok || len(f.Index) != 1 || f.Type != reflect.TypeOf((*goja.FieldNameMapper)(nil)).Elem() {
		return fmt.Errorf("goja.Runtime has no fieldNameMapper of type goja.FieldNameMapper")
	}
	mapperOff, mapperFound = f.Offset, true
	r := goja.New()
	b := &builtins{}
	r.SetFieldNameMapper(b)
	if builtinsOf(r) != b {
		mapperFound = false
		return fmt.Errorf("goja.Runtime's fieldNameMapper is not where it was found")
	}
	return nil
}

// register binds rt to b, for builtinsOf.
func register(rt *goja.Runtime, b *builtins) { rt.SetFieldNameMapper(b) }

// builtinsOf returns the builtins of the isolate r belongs to, or nil for
// a runtime that is not an isolate's.
func builtinsOf(r *goja.Runtime) *builtins {
	if !mapperFound {
		return nil
	}
	b, _ := (*(*goja.FieldNameMapper)(unsafe.Add(unsafe.Pointer(r), mapperOff))).(*builtins)
	return b
}

// FieldName implements goja.FieldNameMapper as goja names a field without
// a mapper: by its Go name.
func (b *builtins) FieldName(_ reflect.Type, f reflect.StructField) string { return f.Name }

// MethodName implements goja.FieldNameMapper as goja names a method
// without a mapper: by its Go name.
func (b *builtins) MethodName(_ reflect.Type, m reflect.Method) string { return m.Name }
