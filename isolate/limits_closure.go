package isolate

import (
	"reflect"
	"strconv"
	"sync"
	"unsafe"

	"github.com/dop251/goja"
)

// A callback a script hands to a promise (p.then(cb)) is kept by goja as a
// Go method value, cb's Call bound to the function object: a closure the
// memory walk cannot enter by reflection, so what only such a callback
// holds would go unmeasured. A method value is a small block holding the
// code pointer of a wrapper and the receiver; for the JS function kinds the
// code pointers are learnt once, from a sample runtime, and the walk then
// follows the receiver of any func value that carries one of them. Every
// JS function object begins with goja's baseJsFuncObject, which holds the
// closure's scope, so the receiver is walked as one. (Bound functions and
// goja's other closures that keep a script's values are entered through
// layouts of their own, limits_capture.go.)
//
// This reads goja's private structures; TestAcctMemory_ClosureCodesFound
// fails if an upgrade moves them.
var jsCallbacks struct {
	once  sync.Once
	codes map[uintptr]struct{}
	recv  reflect.Type // goja's baseJsFuncObject
}

// callbackSample makes a function of every JS kind and hands each to a
// promise that never settles, so that its reactions hold their method values.
const callbackSample = `(() => {
	const fns = [function () {}, () => 1, async function () {}, async () => 1, ({ m() {} }).m,
		({ async m() {} }).m, function* () {}, ({ *g() {} }).g];
	const p = new Promise(() => {});
	for (const f of fns) p.then(f);
	return [p, fns];
})()`

func learnCallbacks() {
	jsCallbacks.codes = map[uintptr]struct{}{}
	rt := goja.New()
	v, err := rt.RunString(callbackSample)
	if err != nil {
		return
	}
	pair, ok := v.(*goja.Object)
	if !ok {
		return
	}
	p, ok := pair.Get("0").Export().(*goja.Promise)
	fns, ok2 := pair.Get("1").(*goja.Object)
	if !ok || !ok2 {
		return
	}
	n := int(fns.Get("length").ToInteger())
	reactions := reflect.ValueOf(p).Elem().FieldByName("fulfillReactions")
	if !reactions.IsValid() || reactions.Kind() != reflect.Slice || reactions.Len() != n {
		return
	}
	for k := 0; k < reactions.Len(); k++ {
		cb := reactions.Index(k).Elem().FieldByName("handler").Elem().FieldByName("callback")
		if !cb.IsValid() || cb.Kind() != reflect.Func || cb.IsNil() {
			continue
		}
		fv := *(*unsafe.Pointer)(unsafe.Pointer(cb.UnsafeAddr()))
		code, recv := *(*uintptr)(fv), *(*unsafe.Pointer)(unsafe.Add(fv, unsafe.Sizeof(uintptr(0))))
		// The sample's own function object: its self must be the receiver,
		// and it must begin with baseJsFuncObject.
		obj, ok := fns.Get(strconv.Itoa(k)).(*goja.Object)
		if !ok {
			continue
		}
		self := reflect.ValueOf(obj).Elem().FieldByName("self")
		if !self.IsValid() || self.Kind() != reflect.Interface || self.Elem().Kind() != reflect.Pointer {
			continue
		}
		if unsafe.Pointer(self.Elem().Pointer()) != recv {
			continue
		}
		t := self.Elem().Type().Elem()
		for t.Kind() == reflect.Struct && t.Name() != "baseJsFuncObject" && t.NumField() > 0 && t.Field(0).Anonymous && t.Field(0).Offset == 0 {
			t = t.Field(0).Type
		}
		if t.Name() != "baseJsFuncObject" {
			continue
		}
		jsCallbacks.recv = t
		jsCallbacks.codes[code] = struct{}{}
	}
}

// callbackReceiver returns the JS function object behind v, a func value
// held in a goja structure, if v is the method value of one.
func callbackReceiver(v reflect.Value) (reflect.Value, bool) {
	jsCallbacks.once.Do(learnCallbacks)
	if len(jsCallbacks.codes) == 0 || v.IsNil() || !v.CanAddr() {
		return reflect.Value{}, false
	}
	fv := *(*unsafe.Pointer)(unsafe.Pointer(v.UnsafeAddr()))
	if _, ok := jsCallbacks.codes[*(*uintptr)(fv)]; !ok {
		return reflect.Value{}, false
	}
	recv := *(*unsafe.Pointer)(unsafe.Add(fv, unsafe.Sizeof(uintptr(0))))
	if recv == nil {
		return reflect.Value{}, false
	}
	return reflect.NewAt(jsCallbacks.recv, recv), true
}
