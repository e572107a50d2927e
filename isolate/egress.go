package isolate

import (
	"errors"
	"strconv"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/egress"

	"github.com/dop251/goja"
)

// FetchHost is what a host that can make outgoing HTTP requests provides,
// besides Host: a handle's fetch goes through it.
type FetchHost interface {
	// StartFetch sends req through the HTTP grant c designates, on a
	// goroutine of its own; the FetchResult comes back through
	// SettleCall(id, ...). A refusal known at once is returned as an error.
	StartFetch(c *capability.Capability, req HTTPRequest) (id uint64, err error)
}

// FetchResult is the answer to an outgoing fetch, in msgpack: a response,
// its header values in the script's form (HeaderText), or Denied (a
// refusal: CapabilityError) or Failed (a network failure: TypeError).
type FetchResult struct {
	Status  int         `msgpack:"status"`
	URL     string      `msgpack:"url"`
	Headers [][2]string `msgpack:"headers"`
	Body    []byte      `msgpack:"body"`
	Denied  string      `msgpack:"denied"`
	Failed  string      `msgpack:"failed"`
}

// fetchMethod is a handle's fetch(input, init): the handle must designate
// an HTTP grant. It returns a promise of a Response, settled by a runtime
// message like a call's answer; the isolate never waits on the network.
func (i *Isolate) fetchMethod() func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		w, err := i.webLib()
		if err != nil {
			i.throw(err)
		}
		lib := w.lib
		rejected, _ := goja.AssertFunction(lib.Get("rejected"))
		reject := func(name, msg string) goja.Value {
			v, err := rejected(goja.Undefined(), i.rt.ToValue(name), i.rt.ToValue(msg))
			if err != nil {
				panic(err)
			}
			return v
		}
		c := i.capOf(call.This, capability.Send, "fetch")
		h, ok := i.cfg.Host.(FetchHost)
		if !ok {
			return reject("TypeError", "fetch is not available here")
		}
		outgoing, _ := goja.AssertFunction(lib.Get("outgoing"))
		parts, err := outgoing(goja.Undefined(), call.Argument(0), call.Argument(1))
		if err != nil {
			panic(err)
		}
		po := parts.(*goja.Object)
		req := HTTPRequest{Method: po.Get("0").String(), URL: po.Get("1").String()}
		if hs, ok := po.Get("2").(*goja.Object); ok {
			n := hs.Get("length").ToInteger()
			for k := int64(0); k < n; k++ {
				pair, ok := hs.Get(strconv.FormatInt(k, 10)).(*goja.Object)
				if !ok {
					continue
				}
				req.Headers = append(req.Headers, [2]string{pair.Get("0").String(), pair.Get("1").String()})
			}
		}
		if b, ok := po.Get("3").Export().([]byte); ok {
			if len(b) > i.cfg.Limits.MessageBytes {
				return reject("RangeError", "fetch: the body is over the message_bytes limit")
			}
			req.Body = append([]byte(nil), b...)
		}
		id, err := h.StartFetch(c, req)
		if err != nil {
			name := "TypeError"
			if errors.Is(err, capability.ErrDenied) {
				name = "CapabilityError"
			}
			return reject(name, err.Error())
		}
		p, resolve, rej := i.rt.NewPromise()
		i.addCall(id, pendingCall{promise: p, resolve: resolve, reject: rej})
		incoming := lib.Get("incoming")
		then, _ := goja.AssertFunction(i.rt.ToValue(p).(*goja.Object).Get("then"))
		v, err := then(i.rt.ToValue(p), incoming)
		if err != nil {
			panic(err)
		}
		return v
	}
}

// attenuateGrant narrows an HTTP grant to the prefixes of
// attenuate({allow: [...]}); nil if c is not an HTTP grant or arg asks for
// rights instead.
func (i *Isolate) attenuateGrant(c *capability.Capability, arg goja.Value) goja.Value {
	g, ok := c.Target().(*egress.Grant)
	if !ok {
		return nil
	}
	o, ok := arg.(*goja.Object)
	if !ok || o.ClassName() == "Array" {
		return nil
	}
	list, ok := o.Get("allow").(*goja.Object)
	if !ok || list.ClassName() != "Array" {
		panic(i.newError("TypeError", "attenuate: an HTTP grant narrows with {allow: [URL prefixes]}"))
	}
	n := list.Get("length").ToInteger()
	if n > 100 {
		panic(i.newError("TypeError", "attenuate: at most 100 prefixes"))
	}
	prefixes := make([]string, 0, n)
	for k := int64(0); k < n; k++ {
		v := list.Get(strconv.FormatInt(k, 10))
		s, ok := v.Export().(string)
		if !ok {
			panic(i.newError("TypeError", "attenuate: prefixes are strings"))
		}
		prefixes = append(prefixes, s)
	}
	sub, err := g.Narrow(prefixes)
	if err != nil {
		name := "TypeError"
		if errors.Is(err, egress.ErrDenied) {
			name = "CapabilityError"
		}
		panic(i.newError(name, err.Error()))
	}
	sc := capability.New(sub, c.Rights())
	i.clist.add(sc)
	return i.handle(sc)
}
