package isolate

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unsafe"

	"github.com/dop251/goja"
)

// heapWalker measures the Go memory an isolate's runtime holds: it follows
// every pointer, slice, string, map and interface reachable from the
// *goja.Runtime and sums the sizes of the distinct allocations it reaches.
// That is the whole JS heap — objects, arrays, strings, closure scopes and
// top-level bindings, Maps, the VM stack — because goja keeps all of it in
// ordinary Go values. It stops at values of other packages (the host's
// capability handles, reflect, sync, time), at functions and channels, and
// at the allocations of the shared compiled program, so one isolate is never
// charged for another's memory or for the script text.
//
// The walk reads the runtime's private fields through reflection. It must
// run on the goroutine that owns the isolate, never during a JS instruction:
// between turns, or inside a native function the runtime called.
type heapWalker struct {
	seen   map[uintptr]struct{}
	skip   map[uintptr]struct{} // allocations shared by every isolate of a script
	bytes  int64
	allocs int
	work   []reflect.Value

	closures closureTable // gojaClosures, once a func value is met
}

func newHeapWalker(skip map[uintptr]struct{}) *heapWalker {
	return &heapWalker{seen: make(map[uintptr]struct{}, 1024), skip: skip}
}

// typeInfo is what the walker needs to know about a type, cached.
type typeInfo struct {
	visit  bool  // values of the type can reach memory the walk counts
	follow bool  // the type belongs to goja (or is unnamed): look inside
	fields []int // struct fields worth visiting
}

var typeInfos sync.Map // reflect.Type -> *typeInfo

func infoOf(t reflect.Type) *typeInfo {
	if ti, ok := typeInfos.Load(t); ok {
		return ti.(*typeInfo)
	}
	ti := &typeInfo{follow: followPkg(t.PkgPath())}
	// Store first so that recursive types terminate; visit is refined below.
	ti.visit = true
	typeInfos.Store(t, ti)
	switch t.Kind() {
	case reflect.Func:
		// Only goja's closures of known layouts (limits_closure.go,
		// limits_capture.go).
		ti.visit = closureWalked(t)
	case reflect.Chan, reflect.UnsafePointer:
		ti.visit = false
	case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.String, reflect.Map:
		ti.visit = true
	case reflect.Array:
		ti.visit = t.Len() > 0 && infoOf(t.Elem()).visit
	case reflect.Struct:
		ti.visit = false
		for k := 0; k < t.NumField(); k++ {
			if concurrentField(t, t.Field(k).Name) {
				continue
			}
			if infoOf(t.Field(k).Type).visit {
				ti.fields = append(ti.fields, k)
				ti.visit = true
			}
		}
	default:
		ti.visit = false
	}
	return ti
}

// concurrentField reports whether field name of t is one that other
// goroutines write while the isolate's goroutine walks: goja's vm keeps
// the value given to Interrupt, which the CPU watchdog and the memory
// probe set from their timer's goroutine. It holds the host's error, not
// the script's memory, and reading it during a write could see half an
// interface: the walk never reads it (TestAcctMemory_InterruptFieldSkipped).
func concurrentField(t reflect.Type, name string) bool {
	return name == "interruptVal" && t.Name() == "vm" && strings.HasPrefix(t.PkgPath(), "github.com/dop251/goja")
}

// followPkg reports whether the walker looks inside named types of pkg.
func followPkg(pkg string) bool {
	return pkg == "" ||
		strings.HasPrefix(pkg, "github.com/dop251/goja") ||
		strings.HasPrefix(pkg, "github.com/dlclark/regexp2") ||
		pkg == "math/big"
}

func (w *heapWalker) mark(p uintptr) bool {
	if p == 0 {
		return false
	}
	if _, ok := w.skip[p]; ok {
		return false
	}
	if _, ok := w.seen[p]; ok {
		return false
	}
	w.seen[p] = struct{}{}
	w.allocs++
	return true
}

// walk measures everything reachable from root.
func (w *heapWalker) walk(root any) {
	w.value(reflect.ValueOf(root))
	for len(w.work) > 0 {
		v := w.work[len(w.work)-1]
		w.work = w.work[:len(w.work)-1]
		w.value(v)
	}
}

var valueSliceType = reflect.TypeOf([]goja.Value(nil))

// jsCallbackType is the type of the func values goja keeps JS callbacks in.
var jsCallbackType = reflect.TypeOf(func(goja.FunctionCall) goja.Value { return nil })

// value accounts for what v refers to; v's own storage is already counted.
func (w *heapWalker) value(v reflect.Value) {
	switch v.Kind() {
	case reflect.Func:
		w.closure(v)
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		if !w.mark(v.Pointer()) {
			return
		}
		et := v.Type().Elem()
		w.bytes += int64(et.Size())
		if infoOf(et).visit && infoOf(v.Type()).follow && infoOf(et).follow {
			w.work = append(w.work, v.Elem())
		}
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		e := v.Elem()
		switch e.Kind() {
		case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.UnsafePointer:
			w.value(e)
			return
		}
		// A non-pointer value stored in an interface is boxed in an
		// allocation of its own (small integers excepted: ignored).
		w.bytes += int64(e.Type().Size())
		if ti := infoOf(e.Type()); ti.visit && ti.follow {
			w.value(e)
		}
	case reflect.String:
		s := v.String()
		if len(s) > 0 && w.mark(uintptr(unsafe.Pointer(unsafe.StringData(s)))) {
			w.bytes += int64(len(s))
		}
	case reflect.Slice:
		if v.Cap() == 0 || !w.mark(v.Pointer()) {
			return
		}
		et := v.Type().Elem()
		w.bytes += int64(v.Cap()) * int64(et.Size())
		ti := infoOf(et)
		if !ti.visit || !ti.follow {
			return
		}
		if v.Type() == valueSliceType && v.CanAddr() {
			// The JS array fast path: most elements are numbers or
			// pointers, handled without reflection per element.
			w.values(*(*[]goja.Value)(unsafe.Pointer(v.UnsafeAddr())))
			return
		}
		for k, n := 0, v.Len(); k < n; k++ {
			w.value(v.Index(k))
		}
	case reflect.Array:
		if infoOf(v.Type().Elem()).visit {
			for k, n := 0, v.Len(); k < n; k++ {
				w.value(v.Index(k))
			}
		}
	case reflect.Struct:
		ti := infoOf(v.Type())
		if !ti.follow {
			return
		}
		for _, k := range ti.fields {
			w.value(v.Field(k))
		}
	case reflect.Map:
		if v.IsNil() || !w.mark(v.Pointer()) {
			return
		}
		kt, et := v.Type().Key(), v.Type().Elem()
		w.bytes += mapBytes(kt.Size()+et.Size(), v.Len())
		kv, ev := infoOf(kt).visit, infoOf(et).visit
		if !kv && !ev {
			return
		}
		it := v.MapRange()
		for it.Next() {
			if kv {
				w.value(it.Key())
			}
			if ev {
				w.value(it.Value())
			}
		}
	}
}

// scalarTypes are dynamic types of goja.Value whose boxes hold no pointers.
var scalarTypes sync.Map // reflect.Type -> int64 (size) or -1

func (w *heapWalker) values(vs []goja.Value) {
	for _, e := range vs {
		if e == nil {
			continue
		}
		t := reflect.TypeOf(e)
		if sz, ok := scalarTypes.Load(t); ok {
			w.bytes += sz.(int64)
			continue
		}
		if t.Kind() != reflect.Pointer && !infoOf(t).visit {
			scalarTypes.Store(t, int64(t.Size()))
			w.bytes += int64(t.Size())
			continue
		}
		w.value(reflect.ValueOf(&e).Elem())
	}
}

// mapBytes estimates a Go map's table for n entries of slot bytes each:
// groups of 8 slots and a control word, at most 7/8 full, plus the header.
func mapBytes(slot uintptr, n int) int64 {
	slots := 8
	for slots*7/8 < n {
		slots *= 2
	}
	return int64(slots)*int64(slot+1) + 48
}

// sharedAllocs returns the allocations of prog, which every isolate of the
// script shares, computed once per program.
func sharedAllocs(prog *goja.Program) map[uintptr]struct{} {
	if v, ok := sharedByProgram.Load(prog); ok {
		return v.(map[uintptr]struct{})
	}
	w := newHeapWalker(nil)
	w.walk(prog)
	v, _ := sharedByProgram.LoadOrStore(prog, w.seen)
	return v.(map[uintptr]struct{})
}

var sharedByProgram sync.Map // *goja.Program -> map[uintptr]struct{}

// freshByProgram holds, per program, what a walk found in the first
// isolate of it once its module had loaded (int64 bytes).
var freshByProgram sync.Map // *goja.Program -> int64

// seedWalkMax bounds what a module may have been charged for a first
// isolate to be walked as its account's seed: past it the account is far
// from empty already, and a large heap is not walked for this.
const seedWalkMax = 256 << 10

// seed starts a freshly loaded isolate's account from what a walk found
// in the first isolate of the same program, walking this one if it is
// that first. Without it an isolate's account, until its first walk,
// holds only bounds of what its turns allocated, which the correction
// of skipped reads can bring to 0: a live actor would show 0 bytes to
// operators. The seed only adds to what is charged.
func (l *limiter) seed(prog *goja.Program) {
	if v, ok := freshByProgram.Load(prog); ok {
		l.used = v.(int64)
	} else if l.pending <= seedWalkMax {
		l.measure()
		freshByProgram.LoadOrStore(prog, l.used)
	}
	l.iso.obs.memory.Store(l.used + l.pending + l.held)
}

// measureHeap returns the bytes and allocations reachable from the
// isolate's JS values that are not in shared. The runtime alone does not
// reach everything a script keeps: its handlers, its timers' callbacks and
// the promises the host will settle are held by the host as Go closures,
// which the walk cannot enter, so the walk also starts from the exports,
// ctx, the pending turn's promise, every pending call's promise (and so
// the callbacks awaiting it), every timer's callback and arguments, and
// the monitor references.
func (i *Isolate) measureHeap(shared map[uintptr]struct{}) (bytes int64, allocs int) {
	clearDeadStack(i.rt)
	w := newHeapWalker(shared)
	w.walk(i.rt)
	if i.lim.exports != nil {
		w.walk(i.lim.exports)
	}
	if i.ctx != nil {
		w.walk(i.ctx)
	}
	if i.turn != nil && i.turn.promise != nil {
		w.walk(i.turn.promise)
	}
	for _, c := range i.calls {
		if c.promise != nil {
			w.walk(c.promise)
		}
	}
	for _, t := range i.timers {
		if t.val != nil {
			w.walk(t.val)
		}
		w.walk(t.args)
	}
	if i.sig != nil {
		w.walk(i.sig.refs)
	}
	return w.bytes, w.allocs
}

// A measurement inside a turn sees the running turn's locals: goja keeps
// the frames of the functions being run (arguments, let and const
// bindings, temporaries) on its VM's value stack, below the stack pointer
// sp, and their captured bindings in stashes the VM and its call stack
// point to, all reached from the runtime. Above sp lie the slots of frames
// that have returned: goja leaves their values there until a push
// overwrites them, or until it clears them itself (when a call from Go
// into JS returns, and at the end of the outermost one). Walked, they
// charged a function's temporaries after it had returned: a helper that
// built 25 MB and returned its length left them charged to every
// reservation of the rest of the turn, and kept them from the collector.
// So a measurement first clears them, as goja does when a call from a
// native function returns, which is where a measurement runs (a wrapped
// builtin, or between turns). The VM and its stack are private fields,
// found by name and type once; TestWalk_GojaStackLayout fails loudly if
// an upgrade moves them, and until it is fixed the walk charges the dead
// slots as before.

// stackLayout holds the offsets of goja's Runtime.vm, vm.stack and vm.sp.
type stackLayout struct {
	vm, stack, sp uintptr
}

var gojaStack = sync.OnceValues(learnStack)

// learnStack finds the VM's stack in goja's private layout and checks,
// in a sample runtime, that a native function's arguments are the slots
// just below sp.
func learnStack() (stackLayout, error) {
	var l stackLayout
	rt := reflect.TypeOf(goja.Runtime{})
	f, ok := rt.FieldByName("vm")
	if !ok || f.Type.Kind() != reflect.Pointer || f.Type.Elem().Kind() != reflect.Struct || f.Type.Elem().Name() != "vm" {
		return l, errors.New("goja.Runtime has no vm *vm field")
	}
	l.vm = f.Offset
	vm := f.Type.Elem()
	st, ok := vm.FieldByName("stack")
	if !ok || st.Type.Kind() != reflect.Slice || st.Type.Elem() != reflect.TypeOf((*goja.Value)(nil)).Elem() {
		return l, errors.New("goja's vm has no stack []Value field")
	}
	sp, ok := vm.FieldByName("sp")
	if !ok || sp.Type.Kind() != reflect.Int {
		return l, errors.New("goja's vm has no sp int field")
	}
	l.stack, l.sp = st.Offset, sp.Offset

	r := goja.New()
	var err error = errors.New("the sample native function did not run")
	_ = r.Set("probe", func(c goja.FunctionCall) goja.Value {
		stack, sp, ok := l.slots(r)
		switch {
		case !ok:
			err = errors.New("sp is outside the stack")
		case len(c.Arguments) != 2 || sp < 2 || &stack[sp-2] != &c.Arguments[0] || &stack[sp-1] != &c.Arguments[1]:
			err = fmt.Errorf("a native function's arguments are not the 2 slots below sp (sp %d of %d)", sp, len(stack))
		default:
			err = nil
		}
		return nil
	})
	if _, e := r.RunString(`(function () { const a = 1; probe(a, [a]); })()`); e != nil {
		return l, e
	}
	return l, err
}

// slots returns rt's VM stack and its stack pointer.
func (l stackLayout) slots(rt *goja.Runtime) ([]goja.Value, int, bool) {
	vm := *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(rt), l.vm))
	if vm == nil {
		return nil, 0, false
	}
	stack := *(*[]goja.Value)(unsafe.Add(vm, l.stack))
	sp := *(*int)(unsafe.Add(vm, l.sp))
	return stack, sp, sp >= 0 && sp <= len(stack)
}

// clearDeadStack clears the slots of rt's VM stack above sp. It runs on
// the isolate's goroutine, between turns or inside a native function.
func clearDeadStack(rt *goja.Runtime) {
	l, err := gojaStack()
	if err != nil {
		return
	}
	if stack, sp, ok := l.slots(rt); ok {
		clear(stack[sp:])
	}
}

// A promise a script made with `new Promise(executor)` is often reachable
// only from the resolve and reject functions its executor was given: goja
// makes them as Go closures that hold the promise, and the walk cannot
// enter a closure by reflection. What the promise holds — the callbacks
// waiting on it, and the whole frame of an async function suspended in
// `await` on it — went unmeasured: a script that kept one resolve
// function per turn of an async function holding an 8 MiB string kept
// 96 MiB under a 32 MiB limit, charged 46 KB. The two closures' code
// pointers, and where each keeps the promise, are learnt once from a
// sample promise: each closure is read only at the words goja's source
// gives it (resolve: three captured variables, reject: two), and a word
// counts only if it is the sample's promise. TestWalk_ResolverLayout
// fails loudly if an upgrade moves them; until then such promises go
// unmeasured, as before.

// resolverLayout maps the code pointer of goja's resolve and reject
// closures to the offset of the promise in the closure.
type resolverLayout map[uintptr]uintptr

var gojaResolvers = sync.OnceValues(learnResolvers)

func learnResolvers() (resolverLayout, error) {
	r := goja.New()
	v, err := r.RunString(`let res, rej; const p = new Promise((a, b) => { res = a; rej = b; }); [p, res, rej]`)
	if err != nil {
		return nil, err
	}
	o, _ := v.(*goja.Object)
	if o == nil {
		return nil, errors.New("the sample is not an array")
	}
	p, _ := o.Get("0").Export().(*goja.Promise)
	if p == nil {
		return nil, errors.New("the sample promise is not a *goja.Promise")
	}
	l := resolverLayout{}
	for k, words := range []uintptr{1: 4, 2: 3} { // resolve: F, alreadyResolved, p, r; reject: F, alreadyResolved, p
		if words == 0 {
			continue
		}
		fo, _ := o.Get(fmt.Sprint(k)).(*goja.Object)
		if fo == nil {
			return nil, fmt.Errorf("resolving function %d is not an object", k)
		}
		self := reflect.ValueOf(fo).Elem().FieldByName("self")
		if !self.IsValid() || self.Kind() != reflect.Interface || self.Elem().Kind() != reflect.Pointer || self.Elem().Type().Elem().Name() != "nativeFuncObject" {
			return nil, fmt.Errorf("resolving function %d is not a goja nativeFuncObject", k)
		}
		f := self.Elem().Elem().FieldByName("f")
		if !f.IsValid() || f.Type() != jsCallbackType || f.IsNil() {
			return nil, fmt.Errorf("resolving function %d has no f of goja's callback type", k)
		}
		cl := *(*unsafe.Pointer)(unsafe.Pointer(f.UnsafeAddr()))
		code := *(*uintptr)(cl)
		found := false
		for w := uintptr(1); w < words; w++ {
			off := w * unsafe.Sizeof(uintptr(0))
			if *(*unsafe.Pointer)(unsafe.Add(cl, off)) == unsafe.Pointer(p) {
				l[code], found = off, true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("resolving function %d does not hold its promise where goja's source puts it", k)
		}
	}
	if len(l) != 2 {
		return nil, errors.New("resolve and reject share their code")
	}
	return l, nil
}
