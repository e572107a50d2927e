package isolate

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"unsafe"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"
)

// An isolate's global object is built from Cloister's own template, not
// goja's. goja makes every runtime's global object from one process-wide
// template; the host's globals (hostglobals.go), the web globals (web.go)
// and the guards of global constructors (template.go) are entries of a
// copy of it, made once per process, and an isolate's runtime is switched
// to the copy as it is made, before anything reads its globals. Any other
// goja runtime in the same program keeps goja's template untouched: it
// has no console, setTimeout, URL or the like, not even as undefined
// properties, and none of Cloister's code runs when it reads a global.

var (
	// globalTmpl is the copy (a *goja.objectTemplate).
	globalTmpl unsafe.Pointer
	// globalSelf is the type of a global object's implementation
	// (*goja.templatedObject); globalTmplOff, the offset of its template.
	globalSelf    reflect.Type
	globalTmplOff uintptr
)

// templateOf returns the template o was built from: an addressable
// goja.objectTemplate.
func templateOf(o *goja.Object) (reflect.Value, error) {
	self, err := selfOf(o)
	if err != nil {
		return reflect.Value{}, err
	}
	tmpl := self.Elem().FieldByName("tmpl")
	if !tmpl.IsValid() || tmpl.Kind() != reflect.Pointer || tmpl.IsNil() || tmpl.Type().Elem().Name() != "objectTemplate" {
		return reflect.Value{}, fmt.Errorf("%s has no template", self.Type())
	}
	return reflect.NewAt(tmpl.Type().Elem(), tmpl.UnsafePointer()).Elem(), nil
}

// copyGlobalTemplate makes Cloister's copy of the template goja built
// global from, and returns the copy's factories.
func copyGlobalTemplate(global *goja.Object) error {
	self, err := selfOf(global)
	if err != nil {
		return err
	}
	f, ok := self.Type().Elem().FieldByName("tmpl")
	if !ok || len(f.Index) != 1 || f.Type.Kind() != reflect.Pointer || f.Type.Elem().Name() != "objectTemplate" {
		return fmt.Errorf("%s has no template field", self.Type())
	}
	orig, err := templateOf(global)
	if err != nil {
		return err
	}
	cp := reflect.New(orig.Type())
	cp.Elem().Set(orig) // every field; the maps and lists are copied below
	props, err := tmplProps(cp.Elem())
	if err != nil {
		return err
	}
	*props = maps.Clone(*props)
	names, err := tmplNames(cp.Elem())
	if err != nil {
		return err
	}
	*names = slices.Clone(*names)
	sym, err := tmplSymProps(cp.Elem())
	if err != nil {
		return err
	}
	*sym = maps.Clone(*sym)
	symNames := cp.Elem().FieldByName("symPropNames")
	if !symNames.IsValid() || symNames.Type() != reflect.TypeOf([]*goja.Symbol(nil)) {
		return fmt.Errorf("%s has no symPropNames list", orig.Type())
	}
	sn := (*[]*goja.Symbol)(unsafe.Pointer(symNames.UnsafeAddr()))
	*sn = slices.Clone(*sn)
	globalSelf, globalTmplOff, globalTmpl = self.Type(), f.Offset, cp.UnsafePointer()
	return nil
}

// useIsolateGlobal switches r's global object to Cloister's template. r
// must be new: none of its globals read yet.
func useIsolateGlobal(r *goja.Runtime) {
	self, err := selfOf(r.GlobalObject())
	if err != nil || self.Type() != globalSelf || globalTmpl == nil {
		panic(fmt.Sprintf("isolate: a global object is a %v", self.Type()))
	}
	*(*unsafe.Pointer)(unsafe.Add(self.UnsafePointer(), globalTmplOff)) = globalTmpl
}

// tmplProps returns the address of a template's factory map.
func tmplProps(tmpl reflect.Value) (*map[unistring.String]propFactory, error) {
	props := tmpl.FieldByName("props")
	if !props.IsValid() || props.Kind() != reflect.Map || props.Type().Key() != reflect.TypeOf(unistring.String("")) {
		return nil, fmt.Errorf("%s has no props map", tmpl.Type())
	}
	if !isFactory(props.Type().Elem()) {
		return nil, fmt.Errorf("%s: template factories are %s", tmpl.Type(), props.Type().Elem())
	}
	// A named func type of the same signature: the map's layout is the same.
	return (*map[unistring.String]propFactory)(unsafe.Pointer(props.UnsafeAddr())), nil
}

// tmplSymProps returns the address of a template's symbol-keyed factory
// map, made if the template has none yet.
func tmplSymProps(tmpl reflect.Value) (*map[*goja.Symbol]propFactory, error) {
	props := tmpl.FieldByName("symProps")
	if !props.IsValid() || props.Kind() != reflect.Map || props.Type().Key() != reflect.TypeOf((*goja.Symbol)(nil)) {
		return nil, fmt.Errorf("%s has no symProps map", tmpl.Type())
	}
	if !isFactory(props.Type().Elem()) {
		return nil, fmt.Errorf("%s: template factories are %s", tmpl.Type(), props.Type().Elem())
	}
	m := (*map[*goja.Symbol]propFactory)(unsafe.Pointer(props.UnsafeAddr()))
	if *m == nil {
		*m = map[*goja.Symbol]propFactory{}
	}
	return m, nil
}

// tmplNames returns the address of a template's ordered property names,
// which a runtime copies when it first lists the object's keys.
func tmplNames(tmpl reflect.Value) (*[]unistring.String, error) {
	names := tmpl.FieldByName("propNames")
	if !names.IsValid() || names.Type() != reflect.TypeOf([]unistring.String(nil)) {
		return nil, fmt.Errorf("%s has no propNames list", tmpl.Type())
	}
	return (*[]unistring.String)(unsafe.Pointer(names.UnsafeAddr())), nil
}

func isFactory(ft reflect.Type) bool {
	return ft.Kind() == reflect.Func && ft.NumIn() == 1 && ft.In(0) == runtimePtr && ft.NumOut() == 1 && ft.Out(0) == valueType
}
