package isolate

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/cloister-rt/cloister/capability"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"
)

// The host API is built from native functions and plain objects only: no Go
// value is ever passed to Runtime.ToValue, so no Go method or field can be
// reached from a script.

// capHandle is what a JS capability handle is backed by. Scripts see a
// dynamic object whose properties are served here; they cannot read the
// fields, and no object they build can export a *capHandle.
type capHandle struct {
	iso *Isolate
	cap *capability.Capability
}

var capHandleType = reflect.TypeOf((*capHandle)(nil))

// handleMethods are the properties a handle has, in order.
var handleMethods = []string{"send", "call", "attenuate", "monitor", "demonitor", "link", "unlink", "exit", "kill", "spawn", "inspect", "fetch"}

func (h *capHandle) Get(key string) goja.Value {
	if key == "rights" {
		names := h.cap.Rights().Names()
		vals := make([]any, len(names))
		for i, n := range names {
			vals[i] = n
		}
		return h.iso.rt.NewArray(vals...)
	}
	if key == "toString" || (key == "reply" || key == "fail") && isReplyHandle(h.cap) {
		return h.iso.method(key)
	}
	for _, m := range handleMethods {
		if m == key {
			return h.iso.method(key)
		}
	}
	return nil
}

func (h *capHandle) Set(string, goja.Value) bool { return false }
func (h *capHandle) Has(key string) bool         { return h.Get(key) != nil }
func (h *capHandle) Delete(string) bool          { return false }
func (h *capHandle) Keys() []string              { return nil }

// handle returns a new JS handle for c in this isolate.
func (i *Isolate) handle(c *capability.Capability) *goja.Object {
	return i.rt.NewDynamicObject(&capHandle{iso: i, cap: c})
}

// capOf is the isolate's capability choke point: it resolves v to a
// capability of this isolate and checks that it carries need for op. A
// failure is thrown in the calling script.
func (i *Isolate) capOf(v goja.Value, need capability.Rights, op string) *capability.Capability {
	o, ok := v.(*goja.Object)
	var h *capHandle
	if ok {
		h, ok = handleOf(o)
	}
	if !ok || h.iso != i {
		panic(i.newError("TypeError", op+": not a capability"))
	}
	if err := h.cap.Check(need, op); err != nil {
		if r, ok := i.cfg.Host.(DenialReporter); ok {
			r.Denied(op, err)
		} else {
			i.cfg.Host.Log(slog.LevelWarn, "capability denied: "+err.Error())
		}
		panic(i.newError("CapabilityError", err.Error()))
	}
	return h.cap
}

// newError builds an Error object with the given name without reading any
// global a script could have replaced.
func (i *Isolate) newError(name, msg string) *goja.Object {
	e := i.rt.NewTypeError(msg)
	if name != "TypeError" {
		_ = e.DefineDataProperty("name", i.rt.ToValue(name), goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	}
	return e
}

// throw raises err in the calling script as a JS error named after its kind.
func (i *Isolate) throw(err error) {
	panic(i.newError(callErrorName(err), err.Error()))
}

// fn makes a native function named name, of length 0. It is goja's own
// maker, reached by name (hostglobals.go): Runtime.ToValue would look up
// the Go function's symbol name for a name that is replaced at once.
func (i *Isolate) fn(name string, f func(goja.FunctionCall) goja.Value) goja.Value {
	return gojaNewNativeFunc(i.rt, f, unistring.NewFromString(name), 0)
}

// method returns the shared function behind a handle property.
func (i *Isolate) method(name string) goja.Value {
	if m, ok := i.methods[name]; ok {
		return m
	}
	if i.methods == nil {
		i.methods = make(map[string]goja.Value, len(handleMethods)+1)
	}
	var f func(goja.FunctionCall) goja.Value
	switch name {
	case "send":
		f = func(call goja.FunctionCall) goja.Value {
			c := i.capOf(call.This, capability.Send, "send")
			env, err := i.encode(call.Argument(0))
			if err != nil {
				i.throw(err)
			}
			if err := i.cfg.Host.Send(c, env); err != nil {
				i.throw(err)
			}
			return goja.Undefined()
		}
	case "call":
		f = func(call goja.FunctionCall) goja.Value {
			c := i.capOf(call.This, capability.Send, "call")
			timeout := i.callTimeout(call.Argument(1))
			env, err := i.encode(call.Argument(0))
			if err != nil {
				i.throw(err)
			}
			i.lim.hold(hostTimerBytes) // the host's timeout timer and bookkeeping
			id, err := i.cfg.Host.Call(c, env, timeout)
			if err != nil {
				i.lim.release(hostTimerBytes)
			}
			if errors.Is(err, capability.ErrDenied) || errors.Is(err, capability.ErrRevoked) {
				i.throw(err) // as the isolate's own check does
			}
			p := i.newCallPromise()
			if err != nil {
				// A call that cannot be delivered (full mailbox, no
				// process) rejects, as one that fails later does.
				gojaPromiseReject(p, i.newError(callErrorName(err), err.Error()))
				return i.rt.ToValue(p)
			}
			i.addCall(id, pendingCall{promise: p}) // settled by settle (promise.go)
			return i.rt.ToValue(p)
		}
	case "attenuate":
		f = func(call goja.FunctionCall) goja.Value {
			c := i.capOf(call.This, 0, "attenuate")
			if sub := i.attenuateGrant(c, call.Argument(0)); sub != nil {
				return sub // an HTTP grant narrowed to fewer URL prefixes
			}
			rights, err := i.rightsArg(call.Argument(0))
			if err != nil {
				panic(i.newError("TypeError", "attenuate: "+err.Error()))
			}
			sub, err := c.Attenuate(rights)
			if err != nil {
				panic(i.newError("CapabilityError", err.Error()))
			}
			i.clist.add(sub)
			return i.handle(sub)
		}
	case "toString":
		f = func(call goja.FunctionCall) goja.Value {
			return i.rt.ToValue("[object Capability]")
		}
	case "fetch":
		f = i.fetchMethod() // outgoing HTTP through a grant, see egress.go
	case "reply", "fail":
		f = i.replyMethod(name)
	default:
		f = i.signalMethod(name)
	}
	m := i.fn(name, f)
	i.methods[name] = m
	return m
}

func (i *Isolate) callTimeout(opts goja.Value) time.Duration {
	o, ok := opts.(*goja.Object)
	if !ok {
		return DefaultCallTimeout
	}
	v := o.Get("timeout")
	if v == nil || goja.IsUndefined(v) {
		return DefaultCallTimeout
	}
	ms := v.ToFloat()
	if math.IsNaN(ms) || ms <= 0 {
		panic(i.newError("TypeError", "call: timeout must be a positive number of milliseconds"))
	}
	d := time.Duration(ms * float64(time.Millisecond))
	if d > maxCallTimeout || ms > float64(maxCallTimeout/time.Millisecond) {
		d = maxCallTimeout
	}
	return d
}

func (i *Isolate) rightsArg(v goja.Value) (capability.Rights, error) {
	o, ok := v.(*goja.Object)
	if !ok || o.ClassName() != "Array" {
		return 0, fmt.Errorf("rights must be an array of names")
	}
	n := o.Get("length").ToInteger()
	if n > 16 {
		return 0, fmt.Errorf("too many rights")
	}
	var names []string
	for k := int64(0); k < n; k++ {
		e := o.Get(fmt.Sprint(k)) // nil for a hole
		if e == nil {
			return 0, fmt.Errorf("rights must be strings")
		}
		s, ok := e.Export().(string)
		if !ok {
			return 0, fmt.Errorf("rights must be strings")
		}
		names = append(names, s)
	}
	return capability.ParseRights(names)
}

// ctxValue makes the value of ctx's property name (see ctx.go), when a
// script first reads it.
func (i *Isolate) ctxValue(name string) goja.Value {
	rt := i.rt
	switch name {
	case "trapExits":
		return i.ctxTrapExits()
	case "isNotification":
		return i.ctxIsNotification()
	case "deferReply":
		return i.ctxDeferReply()
	case "storage":
		return i.ctxStorage()
	case "self":
		return i.handle(i.cfg.Self)
	case "env":
		env := rt.NewObject()
		for _, g := range i.cfg.Env {
			_ = env.DefineDataProperty(g.Name, i.handle(g.Cap), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE)
		}
		i.hostObject(env, "Env")
		_, _ = i.freeze(goja.Undefined(), env)
		return env
	case "stop":
		return i.fn("stop", func(call goja.FunctionCall) goja.Value {
			reason := "normal"
			if a := call.Argument(0); !goja.IsUndefined(a) {
				reason = truncate(a.String(), 256)
			}
			i.cfg.Host.Stop(reason)
			return goja.Undefined()
		})
	case "sendAfter":
		return i.fn("sendAfter", func(call goja.FunctionCall) goja.Value {
			c := i.capOf(call.Argument(0), capability.Send, "sendAfter")
			d := i.delayArg(call.Argument(2))
			env, err := i.encode(call.Argument(1))
			if err != nil {
				i.throw(err)
			}
			// The host keeps the message until it is due: charged now.
			size := int64(env.Size()) + hostTimerBytes
			i.lim.hold(size)
			ref, err := i.cfg.Host.SendAfter(c, env, d)
			if err != nil {
				i.lim.release(size)
				i.throw(err)
			}
			if i.parked == nil {
				i.parked = make(map[uint64]int64)
			}
			i.parked[ref] = size
			return rt.ToValue(ref)
		})
	case "cancelTimer":
		return i.fn("cancelTimer", func(call goja.FunctionCall) goja.Value {
			ref, ok := timerRef(call.Argument(0))
			if ok {
				i.forgetTimer(ref)
			}
			return rt.ToValue(ok && i.cfg.Host.CancelTimer(ref))
		})
	case "revocable":
		return i.fn("revocable", func(call goja.FunctionCall) goja.Value {
			c := i.capOf(call.Argument(0), 0, "revocable")
			fwd, rv := c.Revocable()
			i.clist.add(fwd)
			out := rt.NewObject()
			_ = out.Set("cap", i.handle(fwd))
			_ = out.Set("revoke", i.fn("revoke", func(goja.FunctionCall) goja.Value {
				rv.Revoke()
				return goja.Undefined()
			}))
			return out
		})
	}
	panic("isolate: ctx has no property " + name)
}

// hostObject gives o, an object of the host API, a prototype that makes
// it describe itself as "[object <tag>]" when a script turns it into a
// string: a frozen object with no prototype of its own that holds only
// Symbol.toStringTag and Symbol.toPrimitive, shared by every host object
// of the tag in the isolate, so o's own keys stay what the host put there.
// Without it, goja's error for an object it cannot convert prints the
// engine's Go struct, heap addresses included.
func (i *Isolate) hostObject(o *goja.Object, tag string) {
	proto, ok := i.hostProtos[tag]
	if !ok {
		proto = i.rt.NewObject()
		_ = proto.SetPrototype(nil)
		s := i.rt.ToValue("[object " + tag + "]")
		_ = proto.DefineDataPropertySymbol(goja.SymToStringTag, i.rt.ToValue(tag), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
		_ = proto.DefineDataPropertySymbol(goja.SymToPrimitive, i.fn("[Symbol.toPrimitive]", func(goja.FunctionCall) goja.Value { return s }),
			goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
		_, _ = i.freeze(goja.Undefined(), proto)
		if i.hostProtos == nil {
			i.hostProtos = make(map[string]*goja.Object, 2)
		}
		i.hostProtos[tag] = proto
	}
	_ = o.SetPrototype(proto)
}

func timerRef(v goja.Value) (uint64, bool) {
	f := v.ToFloat()
	if math.IsNaN(f) || f < 1 || f > 1<<53 || f != math.Trunc(f) {
		return 0, false
	}
	return uint64(f), true
}

func (i *Isolate) delayArg(v goja.Value) time.Duration {
	ms := v.ToFloat()
	if math.IsNaN(ms) || ms < 0 {
		ms = 0
	}
	if ms > float64(24*time.Hour/time.Millisecond) {
		ms = float64(24 * time.Hour / time.Millisecond)
	}
	return time.Duration(ms * float64(time.Millisecond))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// maxLogLine bounds one console line.
const maxLogLine = 8 << 10

// installGlobals binds the isolate to goja's own Object.freeze, which
// the host uses on its objects whatever a script does to Object. console,
// setTimeout and clearTimeout are globals of the process-wide template
// (hostglobals.go), built when a script first reads them. The source
// limits in front of eval and the Function constructors are guards of the
// builtins (see dos.go).
func (i *Isolate) installGlobals() error {
	rt := i.rt
	i.freeze = func(_ goja.Value, args ...goja.Value) (v goja.Value, err error) {
		err = protect(func() error {
			v = gojaObjectFreeze(rt, goja.FunctionCall{This: goja.Undefined(), Arguments: args})
			return nil
		})
		return v, err
	}
	return nil
}

// consoleLevels are console's methods, in order.
var consoleLevels = []struct {
	name  string
	level slog.Level
}{
	{"log", slog.LevelInfo}, {"info", slog.LevelInfo}, {"debug", slog.LevelDebug},
	{"warn", slog.LevelWarn}, {"error", slog.LevelError},
}

// newConsole builds the console object.
func (i *Isolate) newConsole() *goja.Object {
	console := i.rt.NewObject()
	for _, m := range consoleLevels {
		level := m.level
		_ = console.Set(m.name, i.fn(m.name, func(call goja.FunctionCall) goja.Value {
			var b strings.Builder
			for k, a := range call.Arguments {
				if k > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(formatLogValue(a, maxLogLine+1-b.Len()))
				if b.Len() > maxLogLine {
					break
				}
			}
			i.cfg.Host.Log(level, truncate(b.String(), maxLogLine))
			return goja.Undefined()
		}))
	}
	return console
}

// setTimeoutFn builds setTimeout.
func (i *Isolate) setTimeoutFn() goja.Value {
	rt := i.rt
	return i.fn("setTimeout", func(call goja.FunctionCall) goja.Value {
		fn, ok := goja.AssertFunction(call.Argument(0))
		if !ok {
			panic(i.newError("TypeError", "setTimeout: callback is not a function"))
		}
		d := i.delayArg(call.Argument(1))
		var args []goja.Value
		if len(call.Arguments) > 2 {
			args = append(args, call.Arguments[2:]...)
		}
		i.lim.hold(hostTimerBytes)
		id, err := i.cfg.Host.StartTimer(d)
		if err != nil {
			i.lim.release(hostTimerBytes)
			i.throw(err)
		}
		// The callback is kept as a value too, for the memory walk: what
		// only a timer's callback holds is the script's memory.
		i.addTimer(id, timer{fn: fn, val: call.Argument(0), args: args})
		return rt.ToValue(id)
	})
}

// clearTimeoutFn builds clearTimeout.
func (i *Isolate) clearTimeoutFn() goja.Value {
	return i.fn("clearTimeout", func(call goja.FunctionCall) goja.Value {
		if id, ok := timerRef(call.Argument(0)); ok {
			if _, ok := i.timers[id]; ok {
				i.forgetTimer(id)
				i.cfg.Host.CancelTimer(id)
			}
		}
		return goja.Undefined()
	})
}

// hostTimerBytes is what the host keeps for one timer, parked message or
// call awaiting its answer, besides a message's payload: the Go timer, its
// entries in the process's and the isolate's maps, the message it will
// send. It is charged to the memory limit when the host starts keeping it.
const hostTimerBytes = 256

// forgetTimer drops timer or parked message id and refunds its memory.
func (i *Isolate) forgetTimer(id uint64) {
	if _, ok := i.timers[id]; ok {
		delete(i.timers, id)
		i.lim.release(hostTimerBytes)
	}
	if n, ok := i.parked[id]; ok {
		delete(i.parked, id)
		i.lim.release(n)
	}
}

// TimerDone tells the isolate that the host has sent the sendAfter message
// ref: the memory it held is refunded. Like every method, it is called
// between turns on the isolate's goroutine.
func (i *Isolate) TimerDone(ref uint64) { i.forgetTimer(ref) }

// formatLogValue prints one console argument; a string is cut to room
// characters first, the line's room left.
func formatLogValue(v goja.Value, room int) string {
	switch {
	case v == nil || goja.IsUndefined(v):
		return "undefined"
	case goja.IsNull(v):
		return "null"
	}
	if o, ok := v.(*goja.Object); ok {
		if _, ok := handleOf(o); ok {
			return "[object Capability]"
		}
		if _, ok := goja.AssertFunction(o); ok {
			return "[function]"
		}
		return "[" + o.ClassName() + "]"
	}
	if s, ok := v.(goja.String); ok && s.Length() > room {
		// Cut before converting: a line is at most maxLogLine bytes, and
		// a script's string may be tens of megabytes.
		return s.Substring(0, max(room, 0)).String()
	}
	return v.String()
}
