package isolate

import "github.com/dop251/goja"

// needFresh ends the turn with cpu_limit, before a buffer of bytes is
// allocated in one piece, when the turn has not freshBusyNsPerByte a byte
// left for it: the buffer is zeroed without a look at the interrupt, and
// memory the runtime had handed back to the kernel faults on every page
// (a 32 MiB buffer of `s.repeat(2)` on a 2-byte string ran a 50 ms turn
// to 76-129 ms on the loaded 2-core VM). Below freshCheckBytes a buffer
// is not checked. Every builder of a long string checks here, `+`'s too
// (reserveString, concat.go).
func (b *builtins) needFresh(bytes int64) {
	if bytes >= freshCheckBytes {
		b.needCPU(bytes, freshBusyNsPerByte)
	}
}

// freshBusyNsPerByte is what a fresh buffer costs per byte on the 2-core
// VM when both cores are busy (a test run beside another package's): a
// 64 MiB buffer of padEnd on a 2-byte string took 75-110 ms, about 2.5 ns
// a byte, where freshNsPerByte, measured on a quieter machine, allows 1.
const freshBusyNsPerByte = 3 * freshNsPerByte

// resultOf is w.result(), with the buffer that assembles a result with
// long parts checked first (needFresh).
func (b *builtins) resultOf(w *chargedBuilder) goja.String {
	if w.big != nil {
		_, bytes := sizeOf(append(w.big[:len(w.big):len(w.big)], w.sb.String()))
		b.needFresh(bytes)
	}
	return w.result()
}

// builderStepBytes is how much a loop that builds a string part by part
// (join, String.raw) may write between two charges: a count of parts
// alone lets 1024 parts of 64 Ki units, 128 MiB, be built uncharged.
const builderStepBytes = 1 << 20

// chargeStep is called by such a loop before its k-th part: every 1024
// parts, and whenever builderStepBytes are written uncharged, it checks
// the CPU limit, charges what w holds, and checks that the turn has time
// left for the builder's buffer to be reallocated at the size written so
// far (needFresh). built is the loop's count of bytes charged this way.
func (b *builtins) chargeStep(w *chargedBuilder, k int64, built *int64) {
	if k%1024 != 0 && w.pending < builderStepBytes {
		return
	}
	b.tick()
	*built += w.pending
	w.charge()
	b.needFresh(2 * *built)
}

// chargeTypedCopy guards a %TypedArray%.prototype method that copies its
// receiver into a new typed array that goja allocates itself, in one
// piece and uncharged (toReversed; with, in guardBigArrayMethod): the
// copy is charged first, and checked against the time left (needFresh).
// A loop keeping 32 MiB copies ran a 50 ms turn to 250-270 ms.
func (b *builtins) chargeTypedCopy(this goja.Value, what string) {
	o, ok := this.(*goja.Object)
	if !ok {
		return
	}
	n, typed := typedLength(o)
	if !typed {
		return // goja's TypeError
	}
	size := int64(o.ExportType().Elem().Size())
	b.reserveElems(n, size, what)
	b.needFresh(n * size)
}

func guardTypedToReversed(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		b.chargeTypedCopy(c.This, "toReversed")
		return call(orig, c.This, c.Arguments...)
	}
}

var _ = func() int {
	templateGuards = append(templateGuards,
		templateGuard{object: "%TypedArray%.prototype", name: "toReversed", make: method(guardTypedToReversed)},
		templateGuard{object: "%TypedArray%.prototype", name: "join", make: method(guardTypedJoin)})
	return 0
}()

// typedNsPerElem bounds what a typed array method's Go loop costs per
// element on a busy machine (includes over 2e6 doubles: 5-10 ms at load
// 10).
const typedNsPerElem = 5

// needTypedLoop ends the turn with cpu_limit when a Go loop over the
// typed array this could not finish in the time left.
func (b *builtins) needTypedLoop(this goja.Value) {
	if o, ok := this.(*goja.Object); ok {
		if n, typed := typedLength(o); typed {
			b.needCPU(n, typedNsPerElem*raceSlowdown)
		}
	}
}
