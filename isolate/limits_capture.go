package isolate

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"github.com/dop251/goja"
)

// Besides JS callbacks and resolve functions, goja makes Go closures that
// keep a script's values where reflection cannot follow: the handlers of
// Promise.prototype.finally (the script's callback and the species
// constructor) and the value or reason they pass on, the reactions of
// Promise.all, allSettled and any (the slice of values or errors already
// settled), the executor a promise subclass is given (the resolve and
// reject it was called with), a bound function's this and arguments, a
// revocable proxy's revoke and the function a callable proxy is called
// through (the proxy), and the jobs queued for the
// microtask queue (the reaction and its argument; a thenable's promise and
// then). A pending combinator or finally kept 8 MiB a turn under a 32 MiB
// limit, charged some kilobytes.
//
// A Go closure is a block whose first word is its code pointer, followed
// by the variables it captured, in an order the compiler chooses. For each
// closure above, a sample is made on a fresh runtime with marker values,
// and the words goja's source gives the closure are searched for them: a
// word is taken for a pointer only if goja's source says every candidate
// word is one, after the words whose value is known (markers, the runtime,
// small integers) are set aside, and a captured variable read through it
// must hold the sample's marker. What was found becomes a capture: an
// offset and the Go type of what is stored there. The walk then, for a
// func value whose code pointer is in the table, walks each capture as a
// value of its type — one map lookup per func value.
// TestWalk_CaptureLayouts fails loudly, one layout at a time, if a goja
// upgrade moves them; a layout not found stays unmeasured, as before.

// capture is a word of a closure the walk follows, and the Go type of
// what the closure keeps there.
type capture struct {
	off uintptr
	typ reflect.Type
}

// closureTable maps the code pointer of a goja closure to its captures.
type closureTable map[uintptr][]capture

// captureLayout is one closure's learnt layout, or why it was not learnt.
type captureLayout struct {
	name string
	code uintptr
	caps []capture
	err  error
}

const wordSize = unsafe.Sizeof(uintptr(0))

var (
	valuePtrType  = reflect.PointerTo(valueType)
	valuesPtrType = reflect.PointerTo(valueSliceType)
	objectPtrType = reflect.TypeOf((*goja.Object)(nil))
	jobType       = reflect.TypeOf(func() {})
)

// gojaClosures is the table the walk uses: JS callbacks, resolve and
// reject functions, and the layouts learnt here.
var gojaClosures = sync.OnceValue(func() closureTable {
	t := closureTable{}
	jsCallbacks.once.Do(learnCallbacks)
	if jsCallbacks.recv != nil {
		for code := range jsCallbacks.codes {
			t[code] = []capture{{wordSize, reflect.PointerTo(jsCallbacks.recv)}}
		}
	}
	if l, err := gojaResolvers(); err == nil {
		for code, off := range l {
			t[code] = []capture{{off, promiseType}}
		}
	}
	for _, l := range gojaCaptures() {
		if l.err == nil {
			t[l.code] = l.caps
		}
	}
	return t
})

var gojaCaptures = sync.OnceValue(learnCaptures)

// closureWalked reports whether the walk looks into func values of type t.
func closureWalked(t reflect.Type) bool {
	return t == jsCallbackType || t == constructType || t == jobType
}

// closure walks what the goja closure v, a func value held in a goja
// structure, keeps in the captures learnt for its code pointer.
func (w *heapWalker) closure(v reflect.Value) {
	if v.IsNil() || !v.CanAddr() {
		return
	}
	if w.closures == nil {
		w.closures = gojaClosures()
	}
	cl := *(*unsafe.Pointer)(unsafe.Pointer(v.UnsafeAddr()))
	for _, c := range w.closures[*(*uintptr)(cl)] {
		w.value(reflect.NewAt(c.typ, unsafe.Add(cl, c.off)).Elem())
	}
}

// captureSample exposes goja's closures: a thenable's then keeps the
// functions it is given, and C, a promise-like constructor, keeps the
// executor it is given and answers C.resolve with such a thenable.
const captureSample = `(() => {
	const got = {}, m = { this: {}, arg: {}, val: {}, reason: {}, a: {}, b: {} };
	const grab = (name) => ({ then(f, g) { got[name] = [f, g]; } });
	let combo = "";
	class C {
		constructor(ex) {
			const res = (v) => { got.resolved = v; }, rej = (e) => { got.rejected = e; };
			got.exec = [ex, res, rej];
			ex(res, rej);
		}
		static resolve(x) { return grab(combo + x.k); }
	}
	const onFinally = () => ({ constructor: Promise, then(f) { got.last = f; } });
	Promise.prototype.finally.call(grab("finally"), onFinally);
	got.onFinally = onFinally;
	got.finally[0](m.val); got.thunk = got.last;
	got.finally[1](m.reason); got.thrower = got.last;

	combo = "all"; Promise.all.call(C, [{ k: 0 }, { k: 1 }]);
	got.all1[0](m.b); got.all0[0](m.a); got.allValues = got.resolved;
	combo = "settled"; Promise.allSettled.call(C, [{ k: 0 }, { k: 1 }]);
	got.settled1[0](m.b); got.settled0[1](m.a); got.settledValues = got.resolved;
	combo = "any"; Promise.any.call(C, [{ k: 0 }, { k: 1 }]);
	got.any1[1](m.b); got.any0[1](m.a); got.anyErrors = got.rejected.errors;

	got.bound = function (a) { return a; }.bind(m.this, m.arg);
	got.revocable = Proxy.revocable({}, {});
	got.proxied = new Proxy(function () {}, {});
	got.pending = new Promise(() => {});
	got.pending.then(got.proxied);
	return [got, m];
})()`

// learnCaptures learns each closure's layout from captureSample, and the
// jobs' from a sample runtime whose queue is read while it holds them.
func learnCaptures() []captureLayout {
	r := goja.New()
	v, err := r.RunString(captureSample)
	var got, m *goja.Object
	if err == nil {
		pair, _ := v.(*goja.Object)
		if pair != nil {
			got, _ = pair.Get("0").(*goja.Object)
			m, _ = pair.Get("1").(*goja.Object)
		}
		if got == nil || m == nil {
			err = errors.New("the sample did not return its functions and markers")
		}
	}
	s := &captureSampler{rt: r, got: got, m: m}
	var out []captureLayout
	add := func(name string, f func() (uintptr, []capture, error)) {
		l := captureLayout{name: name, err: err}
		if err == nil {
			func() {
				defer func() {
					if p := recover(); p != nil {
						l.err = fmt.Errorf("the sample panicked: %v", p)
					}
				}()
				l.code, l.caps, l.err = f()
			}()
		}
		if l.err != nil {
			l.err = fmt.Errorf("%s: %w", name, l.err)
		}
		out = append(out, l)
	}
	for k, name := range []string{"finally then", "finally catch"} {
		add(name, func() (uintptr, []capture, error) { return s.finally(k) })
	}
	add("finally value", func() (uintptr, []capture, error) { return s.thunk("thunk", "val") })
	add("finally reason", func() (uintptr, []capture, error) { return s.thunk("thrower", "reason") })
	add("all", func() (uintptr, []capture, error) { return s.combinator("all1", 0, "allValues", 1, "") })
	// allSettled's two reactions are inlined copies of one closure, with
	// code pointers of their own.
	add("allSettled fulfilled", func() (uintptr, []capture, error) {
		return s.combinator("settled1", 0, "settledValues", 1, "value")
	})
	add("allSettled rejected", func() (uintptr, []capture, error) {
		return s.combinator("settled0", 1, "settledValues", 0, "reason")
	})
	add("any", func() (uintptr, []capture, error) { return s.combinator("any1", 1, "anyErrors", 1, "") })
	add("capability executor", s.executor)
	add("bound call", func() (uintptr, []capture, error) { return s.bound("f") })
	add("bound construct", func() (uintptr, []capture, error) { return s.bound("construct") })
	add("proxy revoke", s.revoke)
	add("proxy call", s.proxyCall)
	jobs, jerr := func() (jobs map[string]captureLayout, err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("the sample panicked: %v", p)
			}
		}()
		return learnJobs()
	}()
	for _, name := range append(reactionJobs[:len(reactionJobs):len(reactionJobs)], "thenable job") {
		l := jobs[name]
		l.name = name
		if jerr != nil {
			l.err = jerr
		}
		if l.err != nil {
			l.err = fmt.Errorf("%s: %w", name, l.err)
		}
		out = append(out, l)
	}
	return out
}

type captureSampler struct {
	rt     *goja.Runtime
	got, m *goja.Object
}

// fn returns the Go func value, of goja's callback type, behind the JS
// function path (got[name][k], or got[name] for k < 0).
func (s *captureSampler) fn(name string, k int) (reflect.Value, error) {
	o, _ := s.got.Get(name).(*goja.Object)
	if o != nil && k >= 0 {
		o, _ = o.Get(fmt.Sprint(k)).(*goja.Object)
	}
	if o == nil {
		return reflect.Value{}, fmt.Errorf("the sample has no function %s[%d]", name, k)
	}
	return funcField(o, "f", jsCallbackType)
}

// funcField returns field name, of type t, of the native function o.
func funcField(o *goja.Object, name string, t reflect.Type) (reflect.Value, error) {
	self := reflect.ValueOf(o).Elem().FieldByName("self")
	if !self.IsValid() || self.Kind() != reflect.Interface || self.IsNil() || self.Elem().Kind() != reflect.Pointer || self.Elem().Type().Elem().Kind() != reflect.Struct {
		return reflect.Value{}, errors.New("a function object has no self of a goja struct")
	}
	f := self.Elem().Elem().FieldByName(name)
	if !f.IsValid() || f.Type() != t || f.IsNil() {
		return reflect.Value{}, fmt.Errorf("a native function has no %s of type %v", name, t)
	}
	return f, nil
}

func (s *captureSampler) marker(name string) goja.Value { return s.m.Get(name) }

// closureOf returns the closure block of the addressable func value f.
func closureOf(f reflect.Value) (unsafe.Pointer, uintptr) {
	cl := *(*unsafe.Pointer)(unsafe.Pointer(f.UnsafeAddr()))
	return cl, *(*uintptr)(cl)
}

// word returns the k-th word of the closure cl (0 is the code pointer).
func word(cl unsafe.Pointer, k int) uintptr {
	return *(*uintptr)(unsafe.Add(cl, uintptr(k)*wordSize))
}

// valueWords returns the two words of v as an interface.
func valueWords(v goja.Value) [2]uintptr { return *(*[2]uintptr)(unsafe.Pointer(&v)) }

// findValue returns the word k in [1, n) at which cl keeps v (two words).
func findValue(cl unsafe.Pointer, n int, v goja.Value) (int, bool) {
	iw := valueWords(v)
	for k := 1; k+1 < n; k++ {
		if word(cl, k) == iw[0] && word(cl, k+1) == iw[1] {
			return k, true
		}
	}
	return 0, false
}

// findWord returns the word k in [1, n) equal to p.
func findWord(cl unsafe.Pointer, n int, p uintptr) (int, bool) {
	for k := 1; k < n; k++ {
		if word(cl, k) == p {
			return k, true
		}
	}
	return 0, false
}

// rest returns the words in [1, n) not in known, which must be pointers
// by goja's source: none may be a small integer.
func rest(cl unsafe.Pointer, n int, known ...int) ([]int, error) {
	var out []int
next:
	for k := 1; k < n; k++ {
		for _, x := range known {
			if k == x {
				continue next
			}
		}
		if word(cl, k) < 4096 {
			return nil, fmt.Errorf("word %d of the closure is %d, not the pointer goja's source puts there", k, word(cl, k))
		}
		out = append(out, k)
	}
	return out, nil
}

func off(k int) uintptr { return uintptr(k) * wordSize }

// runtimeWord is the word of the n-word closure cl that holds the
// sample's runtime, which every closure below keeps.
func (s *captureSampler) runtimeWord(cl unsafe.Pointer, n int) (int, error) {
	k, ok := findWord(cl, n, uintptr(unsafe.Pointer(s.rt)))
	if !ok {
		return 0, errors.New("the closure does not keep its runtime")
	}
	return k, nil
}

// finally: thenFinally and catchFinally keep onFinallyFn (the script's
// callback, a method value), the runtime and the species constructor c:
// three words.
func (s *captureSampler) finally(k int) (uintptr, []capture, error) {
	f, err := s.fn("finally", k)
	if err != nil {
		return 0, nil, err
	}
	cl, code := closureOf(f)
	const n = 4
	rk, err := s.runtimeWord(cl, n)
	if err != nil {
		return 0, nil, err
	}
	promise, _ := s.rt.Get("Promise").(*goja.Object)
	ck, ok := findWord(cl, n, uintptr(unsafe.Pointer(promise)))
	if !ok || ck == rk {
		return 0, nil, errors.New("the closure does not keep its species constructor")
	}
	left, err := rest(cl, n, rk, ck)
	if err != nil {
		return 0, nil, err
	}
	if len(left) != 1 {
		return 0, nil, fmt.Errorf("%d words left for the callback, want 1", len(left))
	}
	// The callback is a func value: its closure must be the method value
	// of the sample's onFinally.
	cb := reflect.NewAt(jsCallbackType, unsafe.Add(cl, off(left[0]))).Elem()
	on, _ := s.got.Get("onFinally").(*goja.Object)
	recv, ok := callbackReceiver(cb)
	if !ok || on == nil || recv.Pointer() != reflect.ValueOf(on).Elem().FieldByName("self").Elem().Pointer() {
		return 0, nil, errors.New("the closure's callback is not the method value of the script's onFinally")
	}
	return code, []capture{{off(left[0]), jsCallbackType}, {off(ck), objectPtrType}}, nil
}

// thunk: valueThunk and thrower keep one value: two words.
func (s *captureSampler) thunk(name, marker string) (uintptr, []capture, error) {
	f, err := s.fn(name, -1)
	if err != nil {
		return 0, nil, err
	}
	cl, code := closureOf(f)
	k, ok := findValue(cl, 3, s.marker(marker))
	if !ok || k != 1 {
		return 0, nil, errors.New("the closure does not keep the value it passes on")
	}
	return code, []capture{{off(k), valueType}}, nil
}

// combinator: the reactions of all, allSettled and any keep values (or
// errors) by reference, with the element's index, the count left, the
// capability, the runtime, and (allSettled) the status and key of the
// object they make. index is the sample element's, a small integer, and
// key (allSettled) the object's key, whose length is another; the slice
// is the one the settled combinator's array was made of.
func (s *captureSampler) combinator(name string, k int, result string, index int, key string) (uintptr, []capture, error) {
	f, err := s.fn(name, k)
	if err != nil {
		return 0, nil, err
	}
	cl, code := closureOf(f)
	n := 7 // alreadyCalled, values, index, remaining, pcap, r
	if key != "" {
		n = 11 // and status (a value) and valueKey (a string)
	}
	arr, _ := s.got.Get(result).(*goja.Object)
	if arr == nil {
		return 0, nil, errors.New("the combinator did not settle with an array")
	}
	vals := reflect.ValueOf(arr).Elem().FieldByName("self")
	if !vals.IsValid() || vals.IsNil() || vals.Elem().Kind() != reflect.Pointer {
		return 0, nil, errors.New("the settled array has no self")
	}
	vals = vals.Elem().Elem().FieldByName("values")
	if !vals.IsValid() || vals.Type() != valueSliceType || vals.Len() != 2 {
		return 0, nil, errors.New("the settled array keeps no values slice of 2")
	}
	data := vals.Pointer()
	rk, err := s.runtimeWord(cl, n)
	if err != nil {
		return 0, nil, err
	}
	known := []int{rk}
	ik, ok := findWord(cl, n, uintptr(index))
	if !ok {
		return 0, nil, errors.New("the closure does not keep its index")
	}
	known = append(known, ik)
	if key != "" {
		// status, an asciiString in a Value, and valueKey, a string: the
		// key's length is a small integer, the other three words
		// pointers to static data.
		for k := 1; k < n; k++ {
			if k != ik && word(cl, k) == uintptr(len(key)) {
				known = append(known, k)
			}
		}
	}
	left, err := rest(cl, n, known...)
	if err != nil {
		return 0, nil, err
	}
	found := -1
	for _, k := range left {
		// Every word left is a pointer; values is one to a slice
		// header, whose first word is the array's data. One of the
		// others points to alreadyCalled, a single byte, true once the
		// element settled: a word is read only where its first byte is
		// the data pointer's, which is a multiple of 8.
		p := *(*unsafe.Pointer)(unsafe.Add(cl, off(k)))
		if *(*byte)(p) != *(*byte)(unsafe.Pointer(&data)) || *(*uintptr)(p) != data {
			continue
		}
		if found >= 0 {
			return 0, nil, errors.New("two words of the closure point to the settled slice")
		}
		found = k
	}
	if found < 0 {
		return 0, nil, errors.New("no word of the closure points to the values it settles with")
	}
	sl := *(*[]goja.Value)(*(*unsafe.Pointer)(unsafe.Add(cl, off(found))))
	var second goja.Value
	if len(sl) == 2 && uintptr(unsafe.Pointer(unsafe.SliceData(sl))) == data {
		second = sl[1] // allSettled's is {status, value}
		if o, ok := second.(*goja.Object); ok && o.Get("value") != nil {
			second = o.Get("value")
		}
	}
	if second == nil || !second.SameAs(s.marker("b")) {
		return 0, nil, errors.New("the closure's values are not the settled array's")
	}
	return code, []capture{{off(found), valuesPtrType}}, nil
}

// executor: newPromiseCapability's executor keeps resolve and reject by
// reference, and the runtime: three words.
func (s *captureSampler) executor() (uintptr, []capture, error) {
	f, err := s.fn("exec", 0)
	if err != nil {
		return 0, nil, err
	}
	cl, code := closureOf(f)
	const n = 4
	rk, err := s.runtimeWord(cl, n)
	if err != nil {
		return 0, nil, err
	}
	left, err := rest(cl, n, rk)
	if err != nil {
		return 0, nil, err
	}
	exec, _ := s.got.Get("exec").(*goja.Object)
	var caps []capture
	for _, m := range []goja.Value{exec.Get("1"), exec.Get("2")} {
		iw := valueWords(m)
		for _, k := range left {
			v := (*[2]uintptr)(*(*unsafe.Pointer)(unsafe.Add(cl, off(k))))
			if *v == iw {
				caps = append(caps, capture{off(k), valuePtrType})
			}
		}
	}
	if len(caps) != 2 || caps[0].off == caps[1].off {
		return 0, nil, errors.New("the closure does not keep the resolve and reject it was given")
	}
	return code, caps, nil
}

// bound: boundCallable's closure keeps the arguments (a slice), target
// (a func value) and this (a value): six words; boundConstruct's keeps
// the arguments, the bound function's object and target: five. The
// arguments are the only slice of length and capacity 1 among them.
func (s *captureSampler) bound(field string) (uintptr, []capture, error) {
	o, _ := s.got.Get("bound").(*goja.Object)
	if o == nil {
		return 0, nil, errors.New("the sample has no bound function")
	}
	t, n := jsCallbackType, 7
	if field == "construct" {
		t, n = constructType, 6
	}
	f, err := funcField(o, field, t)
	if err != nil {
		return 0, nil, err
	}
	cl, code := closureOf(f)
	var caps []capture
	if field == "f" {
		k, ok := findValue(cl, n, s.marker("this"))
		if !ok {
			return 0, nil, errors.New("the closure does not keep the bound this")
		}
		caps = append(caps, capture{off(k), valueType})
	} else if _, ok := findWord(cl, n, uintptr(unsafe.Pointer(o))); !ok {
		return 0, nil, errors.New("the closure does not keep the bound function")
	}
	arg := valueWords(s.marker("arg"))
	found := -1
	for k := 1; k+2 < n; k++ {
		if word(cl, k) < 4096 || word(cl, k+1) != 1 || word(cl, k+2) != 1 {
			continue
		}
		if found >= 0 {
			return 0, nil, errors.New("two slices of one argument in the closure")
		}
		found = k
	}
	if found < 0 || *(*[2]uintptr)(*(*unsafe.Pointer)(unsafe.Add(cl, off(found)))) != arg {
		return 0, nil, errors.New("the closure does not keep the bound arguments")
	}
	return code, append(caps, capture{off(found), valueSliceType}), nil
}

// revoke: Proxy.revocable's revoke keeps the proxy: one word.
func (s *captureSampler) revoke() (uintptr, []capture, error) {
	rv, _ := s.got.Get("revocable").(*goja.Object)
	if rv == nil {
		return 0, nil, errors.New("the sample has no revocable proxy")
	}
	proxy, _ := rv.Get("proxy").(*goja.Object)
	fo, _ := rv.Get("revoke").(*goja.Object)
	if proxy == nil || fo == nil {
		return 0, nil, errors.New("the revocable has no proxy or revoke")
	}
	self := reflect.ValueOf(proxy).Elem().FieldByName("self")
	if !self.IsValid() || self.IsNil() || self.Elem().Kind() != reflect.Pointer || self.Elem().Type().Elem().Name() != "proxyObject" {
		return 0, nil, errors.New("the proxy's self is not a goja proxyObject")
	}
	f, err := funcField(fo, "f", jsCallbackType)
	if err != nil {
		return 0, nil, err
	}
	cl, code := closureOf(f)
	if word(cl, 1) != self.Elem().Pointer() {
		return 0, nil, errors.New("revoke does not keep its proxy")
	}
	return code, []capture{{off(1), self.Elem().Type()}}, nil
}

// proxyCall: the function goja calls for a callable proxy (a then
// callback, say) keeps the proxy: one word.
func (s *captureSampler) proxyCall() (uintptr, []capture, error) {
	proxy, _ := s.got.Get("proxied").(*goja.Object)
	pending, _ := s.got.Get("pending").Export().(*goja.Promise)
	if proxy == nil || pending == nil {
		return 0, nil, errors.New("the sample has no proxy awaiting a promise")
	}
	self := reflect.ValueOf(proxy).Elem().FieldByName("self")
	if !self.IsValid() || self.IsNil() || self.Elem().Kind() != reflect.Pointer || self.Elem().Type().Elem().Name() != "proxyObject" {
		return 0, nil, errors.New("the proxy's self is not a goja proxyObject")
	}
	rs := reflect.ValueOf(pending).Elem().FieldByName("fulfillReactions")
	if !rs.IsValid() || rs.Kind() != reflect.Slice || rs.Len() != 1 || rs.Index(0).IsNil() {
		return 0, nil, errors.New("the promise has no reaction to the proxy")
	}
	h := rs.Index(0).Elem().FieldByName("handler")
	if !h.IsValid() || h.Kind() != reflect.Pointer || h.IsNil() {
		return 0, nil, errors.New("the reaction has no handler")
	}
	f := h.Elem().FieldByName("callback")
	if !f.IsValid() || f.Type() != jsCallbackType || f.IsNil() {
		return 0, nil, errors.New("the handler has no callback of goja's callback type")
	}
	cl, code := closureOf(f)
	if word(cl, 1) != self.Elem().Pointer() {
		return 0, nil, errors.New("the proxy's call does not keep its proxy")
	}
	return code, []capture{{off(1), self.Elem().Type()}}, nil
}

// reactionJobs names the reaction jobs of learnJobs's sample, in the
// order it queues them: goja inlines newPromiseReactionJob where a
// reaction is added to a settled promise (fulfilled or rejected) and
// where a promise settles (fulfilled or rejected), each copy with a code
// pointer of its own.
var reactionJobs = []string{"reaction job (then, fulfilled)", "reaction job (then, rejected)", "reaction job (fulfil)", "reaction job (reject)"}

// learnJobs reads a sample runtime's job queue while it holds reaction
// jobs (the reaction, its argument and the runtime: four words) and a
// thenable job (the promise, the thenable, its then and the runtime: five).
func learnJobs() (map[string]captureLayout, error) {
	out := map[string]captureLayout{}
	r := goja.New()
	jq, ok := reflect.TypeOf(goja.Runtime{}).FieldByName("jobQueue")
	if !ok || jq.Type != reflect.TypeOf([]func(){}) {
		return nil, errors.New("goja.Runtime has no jobQueue []func()")
	}
	nr := len(reactionJobs)
	var perr error = errors.New("the probe did not run")
	_ = r.Set("probe", func(c goja.FunctionCall) goja.Value {
		perr = nil
		q := *(*[]func())(unsafe.Add(unsafe.Pointer(r), jq.Offset))
		if len(q) != nr+1 || len(c.Arguments) != nr+2 {
			perr = fmt.Errorf("%d jobs queued, want %d", len(q), nr+1)
			return nil
		}
		thenable := c.Arguments[nr]
		p, _ := c.Arguments[nr+1].Export().(*goja.Promise)
		rt := uintptr(unsafe.Pointer(r))
		for k := range q {
			l := captureLayout{}
			cl, code := closureOf(reflect.ValueOf(&q[k]).Elem())
			l.code = code
			if k < nr {
				const n = 5
				vk, ok := findValue(cl, n, c.Arguments[k])
				rk, ok2 := findWord(cl, n, rt)
				left, err := rest(cl, n, vk, vk+1, rk)
				switch {
				case !ok || !ok2:
					l.err = errors.New("the job does not keep its argument and runtime")
				case err != nil:
					l.err = err
				case len(left) != 1:
					l.err = fmt.Errorf("%d words left for the reaction, want 1", len(left))
				default:
					l.caps = []capture{{off(vk), valueType}, {off(left[0]), promiseReactionPtr}}
				}
				out[reactionJobs[k]] = l
				continue
			}
			const n = 6
			tk, ok := findValue(cl, n, thenable)
			pk, ok2 := findWord(cl, n, uintptr(unsafe.Pointer(p)))
			rk, ok3 := findWord(cl, n, rt)
			left, err := rest(cl, n, tk, tk+1, pk, rk)
			switch {
			case !ok || !ok2 || !ok3 || p == nil:
				l.err = errors.New("the job does not keep its promise, thenable and runtime")
			case err != nil:
				l.err = err
			case len(left) != 1:
				l.err = fmt.Errorf("%d words left for then, want 1", len(left))
			default:
				l.caps = []capture{{off(tk), valueType}, {off(pk), promiseType}, {off(left[0]), jobCallbackPtr}}
			}
			out["thenable job"] = l
		}
		return nil
	})
	_, err := r.RunString(`const a = [{}, {}, {}, {}], t = { then() {} };
Promise.resolve(a[0]).then(() => 0);
Promise.reject(a[1]).then(null, () => 0);
let res, rej;
new Promise((f) => { res = f; }).then(() => 0);
new Promise((_, f) => { rej = f; }).then(null, () => 0);
res(a[2]);
rej(a[3]);
const p = new Promise((res) => res(t));
probe(a[0], a[1], a[2], a[3], t, p);`)
	if err != nil {
		return nil, err
	}
	if perr != nil {
		return nil, perr
	}
	if promiseReactionPtr == nil || jobCallbackPtr == nil {
		return nil, errors.New("goja's Promise has no reactions of the known shape")
	}
	return out, nil
}

// promiseReactionPtr and jobCallbackPtr are goja's *promiseReaction and
// *jobCallback, found through Promise's fields.
var promiseReactionPtr, jobCallbackPtr = func() (reflect.Type, reflect.Type) {
	f, ok := promiseType.Elem().FieldByName("fulfillReactions")
	if !ok || f.Type.Kind() != reflect.Slice || f.Type.Elem().Kind() != reflect.Pointer || f.Type.Elem().Elem().Kind() != reflect.Struct {
		return nil, nil
	}
	h, ok := f.Type.Elem().Elem().FieldByName("handler")
	if !ok || h.Type.Kind() != reflect.Pointer {
		return nil, nil
	}
	return f.Type.Elem(), h.Type
}()
