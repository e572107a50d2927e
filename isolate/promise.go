package isolate

import (
	_ "unsafe" // go:linkname

	"github.com/dop251/goja"
)

// The promise of a ctx call (handle.call) is settled without goja's pair
// of resolving functions.
//
// goja's NewPromise makes two native function objects per promise (about
// 1.3 KB, a third of what a call round trip allocates) so that Go can
// settle it later. A call's promise is settled once, by the host, with a
// decoded reply or an error. goja's resolve does nothing but fulfil the
// promise when the value is not an object, and its reject does nothing but
// reject it: the isolate does exactly that, through goja's own fulfil and
// reject, inside one native function of its own that it calls as an
// outermost call, so that goja runs the promise jobs (the awaiting
// continuation) when it returns, as it does after a resolving function.
// A reply that is an object can be a thenable (a script may give
// Object.prototype a then): it goes through goja's resolving functions,
// made then, as before.

//go:linkname gojaNewPromise github.com/dop251/goja.(*Runtime).newPromise
func gojaNewPromise(r *goja.Runtime, proto *goja.Object) *goja.Promise

//go:linkname gojaGetPromisePrototype github.com/dop251/goja.(*Runtime).getPromisePrototype
func gojaGetPromisePrototype(r *goja.Runtime) *goja.Object

//go:linkname gojaPromiseFulfill github.com/dop251/goja.(*Promise).fulfill
func gojaPromiseFulfill(p *goja.Promise, value goja.Value) goja.Value

//go:linkname gojaPromiseReject github.com/dop251/goja.(*Promise).reject
func gojaPromiseReject(p *goja.Promise, reason goja.Value) goja.Value

//go:linkname gojaCreateResolvingFunctions github.com/dop251/goja.(*Promise).createResolvingFunctions
func gojaCreateResolvingFunctions(p *goja.Promise) (resolve, reject *goja.Object)

// settling is the settlement the isolate's settler is about to make.
type settling struct {
	p      *goja.Promise
	v      goja.Value
	reject bool
}

// newCallPromise returns a pending promise with no resolving functions,
// to be settled with settle.
func (i *Isolate) newCallPromise() *goja.Promise {
	return gojaNewPromise(i.rt, gojaGetPromisePrototype(i.rt))
}

// settle fulfils pc's promise with v, or rejects it with v, and runs the
// promise jobs that follows, as calling a resolving function from Go does.
func (i *Isolate) settle(pc pendingCall, v goja.Value, reject bool) error {
	if pc.resolve != nil {
		if reject {
			return pc.reject(v)
		}
		return pc.resolve(v)
	}
	if _, ok := v.(*goja.Object); ok && !reject {
		resolve, _ := gojaCreateResolvingFunctions(pc.promise)
		f, _ := goja.AssertFunction(resolve)
		_, err := f(goja.Undefined(), v)
		return err
	}
	if i.settler == nil {
		f, _ := goja.AssertFunction(i.fn("settle", func(goja.FunctionCall) goja.Value {
			s := i.settling
			i.settling = settling{}
			if s.p == nil {
				return goja.Undefined()
			}
			if s.reject {
				return gojaPromiseReject(s.p, s.v)
			}
			return gojaPromiseFulfill(s.p, s.v)
		}))
		i.settler = f
	}
	i.settling = settling{p: pc.promise, v: v, reject: reject}
	_, err := i.settler(goja.Undefined())
	return err
}
