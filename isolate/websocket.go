package isolate

import (
	"errors"
	"fmt"

	"github.com/cloister-rt/cloister/mailbox"

	"github.com/dop251/goja"
	"github.com/vmihailenco/msgpack/v5"
)

// WebSocketHost is what a host that holds WebSockets for its process
// provides, besides Host. The sockets belong to the process, not to the
// incarnation: a restarted isolate finds them again.
type WebSocketHost interface {
	// AcceptWebSocket accepts the upgrade of the fetch turn's request
	// reqID, unless the process holds max sockets already.
	AcceptWebSocket(reqID uint64, tags []string, max int) (uint64, error)
	// SendWebSocket queues a frame; it never blocks.
	SendWebSocket(id uint64, data []byte, text bool) error
	// CloseWebSocket closes a socket after what is queued.
	CloseWebSocket(id uint64, code int, reason string) error
	// DropWebSocket forgets a socket accepted by a turn that did not
	// answer with it.
	DropWebSocket(id uint64)
	// WebSockets lists the open sockets with tag, or all for "".
	WebSockets(tag string) []WebSocketInfo
}

// WebSocketInfo is one socket a process holds.
type WebSocketInfo struct {
	ID   uint64
	Tags []string
}

// SocketEventKind says what a WebSocket event turn delivers.
type SocketEventKind int

// WebSocket events.
const (
	SocketMessage SocketEventKind = iota // a frame: msgpack of a string (text) or bytes
	SocketClose                          // the end: msgpack of [code, reason]
)

// Bounds on what a script gives acceptWebSocket.
const (
	maxSocketTags   = 10
	maxSocketTagLen = 256
)

func answersSocket(o Outcome, id uint64) bool {
	if o.Reply == nil {
		return false
	}
	var res struct {
		WS uint64 `msgpack:"ws"`
	}
	return msgpack.Unmarshal(o.Reply.Data(), &res) == nil && res.WS == id
}

// webContext makes the ctx of web turns: an object whose prototype is
// ctx, with acceptWebSocket and getWebSockets; frozen.
func (i *Isolate) webContext() *goja.Object {
	c := i.rt.NewObject()
	_ = c.SetPrototype(i.ctx)
	ro := func(name string, v goja.Value) {
		_ = c.DefineDataProperty(name, v, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	}
	ro("acceptWebSocket", i.fn("acceptWebSocket", func(call goja.FunctionCall) goja.Value {
		w := i.web
		cur := w.cur
		if cur == nil || cur.obj == nil || !call.Argument(0).StrictEquals(cur.obj) {
			panic(i.rt.NewTypeError("acceptWebSocket takes the request being handled"))
		}
		if !cur.upgrade {
			panic(i.rt.NewTypeError("acceptWebSocket: not a WebSocket upgrade request"))
		}
		if cur.accepted != 0 {
			panic(i.rt.NewTypeError("acceptWebSocket: the request is accepted already"))
		}
		h, ok := i.cfg.Host.(WebSocketHost)
		if !ok || cur.max <= 0 {
			panic(i.rt.NewTypeError("acceptWebSocket: WebSockets are not allowed on this route"))
		}
		tags, err := i.socketTags(call.Argument(1))
		if err != nil {
			panic(i.rt.NewTypeError(err.Error()))
		}
		id, err := h.AcceptWebSocket(cur.id, tags, cur.max)
		if err != nil {
			i.throw(err)
		}
		cur.accepted = id
		return i.socketObject(id, tags)
	}))
	ro("getWebSockets", i.fn("getWebSockets", func(call goja.FunctionCall) goja.Value {
		h, ok := i.cfg.Host.(WebSocketHost)
		if !ok {
			return i.rt.NewArray()
		}
		tag := ""
		if a := call.Argument(0); !goja.IsUndefined(a) {
			tag = a.String()
		}
		infos := h.WebSockets(tag)
		out := make([]any, 0, len(infos))
		for _, s := range infos {
			out = append(out, i.socketObject(s.ID, s.Tags))
		}
		return i.rt.NewArray(out...)
	}))
	_, _ = i.freeze(goja.Undefined(), c)
	return c
}

func (i *Isolate) socketTags(v goja.Value) ([]string, error) {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil, nil
	}
	o, ok := v.(*goja.Object)
	if !ok || o.ClassName() != "Array" {
		return nil, errors.New("acceptWebSocket: tags must be an array of strings")
	}
	n := o.Get("length").ToInteger()
	if n > maxSocketTags {
		return nil, fmt.Errorf("acceptWebSocket: at most %d tags", maxSocketTags)
	}
	tags := make([]string, 0, n)
	for k := int64(0); k < n; k++ {
		t := o.Get(fmt.Sprint(k))
		if _, ok := t.Export().(string); !ok {
			return nil, errors.New("acceptWebSocket: tags must be strings")
		}
		s := t.String()
		if len(s) == 0 || len(s) > maxSocketTagLen {
			return nil, fmt.Errorf("acceptWebSocket: a tag has 1 to %d bytes", maxSocketTagLen)
		}
		tags = append(tags, s)
	}
	return tags, nil
}

// socketObject returns the script's WebSocket for id, the same object for
// the same socket within an incarnation.
func (i *Isolate) socketObject(id uint64, tags []string) goja.Value {
	w := i.web
	if o, ok := w.sockets[id]; ok {
		return o
	}
	mk, _ := goja.AssertFunction(w.lib.Get("socket"))
	ts := make([]any, len(tags))
	for k, t := range tags {
		ts[k] = t
	}
	v, err := mk(goja.Undefined(), i.rt.ToValue(id), i.rt.NewArray(ts...))
	if err != nil {
		panic(err)
	}
	if w.sockets == nil {
		w.sockets = make(map[uint64]*goja.Object)
	}
	w.sockets[id] = v.(*goja.Object)
	return v
}

// socketHelpers adds the WebSocket side of web.js's helpers.
func (i *Isolate) socketHelpers(h *goja.Object) {
	_ = h.Set("wsSend", func(c goja.FunctionCall) goja.Value {
		host, ok := i.cfg.Host.(WebSocketHost)
		if !ok {
			panic(i.rt.NewTypeError("WebSockets are not available"))
		}
		b, ok := c.Argument(1).Export().([]byte)
		if !ok {
			panic(i.rt.NewTypeError("send takes a string or bytes"))
		}
		if len(b) > i.cfg.Limits.MessageBytes {
			panic(i.rt.NewTypeError(fmt.Sprintf("send: %d bytes, over the message_bytes limit of %d", len(b), i.cfg.Limits.MessageBytes)))
		}
		data := append([]byte(nil), b...) // the script may change its buffer after send
		if err := host.SendWebSocket(uint64(c.Argument(0).ToInteger()), data, c.Argument(2).ToBoolean()); err != nil {
			panic(i.rt.NewTypeError(err.Error()))
		}
		return goja.Undefined()
	})
	_ = h.Set("wsClose", func(c goja.FunctionCall) goja.Value {
		if host, ok := i.cfg.Host.(WebSocketHost); ok {
			_ = host.CloseWebSocket(uint64(c.Argument(0).ToInteger()), int(c.Argument(1).ToInteger()), c.Argument(2).String())
		}
		return goja.Undefined()
	})
}

// SocketEvent hands a WebSocket event to the script: webSocketMessage(ws,
// data, ctx) or webSocketClose(ws, code, reason, ctx). A script without
// the handler ignores the event. done runs as for Receive.
func (i *Isolate) SocketEvent(kind SocketEventKind, id uint64, env *mailbox.Envelope, done func(Outcome)) {
	w := i.webOf()
	handler := w.wsMessage
	if kind == SocketClose {
		handler = w.wsClose
	}
	if handler == nil {
		if kind == SocketClose {
			delete(w.sockets, id)
		}
		done(Outcome{})
		return
	}
	f, _ := goja.AssertFunction(handler)
	var args []goja.Value
	call := func(goja.Value, ...goja.Value) (goja.Value, error) {
		return f(goja.Undefined(), args...)
	}
	i.startTurnWith(call, func() (goja.Value, error) {
		if _, err := i.webLib(); err != nil {
			return nil, err
		}
		v, err := i.decode(env)
		if err != nil {
			return nil, err
		}
		var tags []string
		if h, ok := i.cfg.Host.(WebSocketHost); ok {
			for _, s := range h.WebSockets("") {
				if s.ID == id {
					tags = s.Tags
				}
			}
		}
		ws := i.socketObject(id, tags)
		if kind == SocketMessage {
			args = []goja.Value{ws, v, w.ctx}
			return goja.Undefined(), nil
		}
		closed, _ := goja.AssertFunction(w.lib.Get("socketClosed"))
		if _, err := closed(goja.Undefined(), ws); err != nil {
			return nil, err
		}
		delete(w.sockets, id)
		code, reason := goja.Value(i.rt.ToValue(closeNoStatus)), goja.Value(i.rt.ToValue(""))
		if o, ok := v.(*goja.Object); ok {
			code, reason = o.Get("0"), o.Get("1")
		}
		args = []goja.Value{ws, code, reason, w.ctx}
		return goja.Undefined(), nil
	}, false, done)
}

// closeNoStatus is the code of a close without one.
const closeNoStatus = 1005
