package isolate

import (
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"github.com/dop251/goja"
)

// Finding the capability behind a handle without Export.
//
// Every send resolves its target handle (capOf) and the encoder asks about
// every object of a message whether it is a handle (msgCaps.onCap). goja's
// Object.Export allocates an export context each time, so handleOf reads
// the handle the way Export would find it instead: the object's
// implementation is goja's dynamic object (a compare of the interface word
// of Object.self), and its field d holds a *capHandle (a compare of the
// interface word of d). Both words and the offset of d are taken from a
// handle made on a scratch runtime when first needed, and checked to lead
// back to the *capHandle that made it; if goja's layout is not the one
// known, handleOf takes Export (TestHandleLayout fails loudly).

type handleLayout struct {
	objSelf uintptr        // offset of goja.Object.self
	selfTab unsafe.Pointer // the type word of Object.self for a dynamic object
	d       uintptr        // offset of dynamicObject.d
	dTab    unsafe.Pointer // the type word of dynamicObject.d holding a *capHandle
}

var handleLayoutOf = sync.OnceValues(probeHandleLayout)

func probeHandleLayout() (*handleLayout, error) {
	sf, ok := reflect.TypeOf(goja.Object{}).FieldByName("self")
	if !ok || sf.Type.Kind() != reflect.Interface || sf.Type.NumMethod() == 0 {
		return nil, fmt.Errorf("goja.Object.self is not an interface")
	}
	r := goja.New()
	want := &capHandle{}
	o := r.NewDynamicObject(want)
	self, err := selfOf(o)
	if err != nil {
		return nil, err
	}
	if self.Type().Elem().Name() != "dynamicObject" {
		return nil, fmt.Errorf("a dynamic object is a %s", self.Type())
	}
	df, ok := self.Type().Elem().FieldByName("d")
	if !ok || df.Type != reflect.TypeOf((*goja.DynamicObject)(nil)).Elem() {
		return nil, fmt.Errorf("goja's dynamicObject has no field d of type DynamicObject")
	}
	l := &handleLayout{objSelf: sf.Offset, d: df.Offset}
	w := (*[2]unsafe.Pointer)(unsafe.Add(unsafe.Pointer(o), l.objSelf))
	if w[1] != self.UnsafePointer() {
		return nil, fmt.Errorf("goja.Object.self does not hold its implementation in its second word")
	}
	l.selfTab = w[0]
	dw := (*[2]unsafe.Pointer)(unsafe.Add(w[1], l.d))
	if dw[1] != unsafe.Pointer(want) {
		return nil, fmt.Errorf("dynamicObject.d does not hold the handle it was made with")
	}
	l.dTab = dw[0]
	// The proof: another handle, a plain object, a dynamic object of
	// another type and a dynamic array read as handleOf must read them.
	other := &capHandle{}
	if h, ok := l.read(r.NewDynamicObject(other)); !ok || h != other {
		return nil, fmt.Errorf("a second handle does not read back")
	}
	for _, v := range []*goja.Object{r.NewObject(), r.NewDynamicObject(hostObjectProbe{}), r.NewDynamicArray(hostArrayProbe{}), r.NewArray()} {
		if _, ok := l.read(v); ok {
			return nil, fmt.Errorf("a %s reads as a handle", v.ExportType())
		}
	}
	return l, nil
}

// read returns the *capHandle behind o, if o is a dynamic object made for one.
func (l *handleLayout) read(o *goja.Object) (*capHandle, bool) {
	w := (*[2]unsafe.Pointer)(unsafe.Add(unsafe.Pointer(o), l.objSelf))
	if w[0] != l.selfTab || w[1] == nil {
		return nil, false
	}
	dw := (*[2]unsafe.Pointer)(unsafe.Add(w[1], l.d))
	if dw[0] != l.dTab || dw[1] == nil {
		return nil, false
	}
	return (*capHandle)(dw[1]), true
}

// handleOf returns the handle behind o, if o is one.
func handleOf(o *goja.Object) (*capHandle, bool) {
	if l, err := handleLayoutOf(); err == nil {
		return l.read(o)
	}
	return exportedHandle(o)
}

// exportedHandle is handleOf through goja's public API.
func exportedHandle(o *goja.Object) (*capHandle, bool) {
	if o.ExportType() != capHandleType {
		return nil, false
	}
	h, ok := o.Export().(*capHandle)
	return h, ok && h != nil
}
