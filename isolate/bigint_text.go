package isolate

import (
	"math/big"
	"strconv"

	"github.com/dop251/goja"
)

// Conversions between BigInts and text run in Go's math/big, in one piece
// that never looks at the interrupt. Within maxBigIntBits a conversion to
// text takes at most about 3.7 ms of CPU (decimal or radix 3, measured on
// the 2-vCPU VM), and parsing 78,914 decimal digits, the most the size
// check lets through, 11 ms: it is quadratic in the digits. So a long one
// is refused up front with cpu_limit when it cannot finish in the time
// the turn has left, wherever Cloister sees it: BigInt(), asIntN/asUintN,
// DataView's setters and the comparisons of a string with a BigInt
// (parsing), and `+`, template literals, String(), and BigInt.prototype's
// toString and toLocaleString (printing).

const (
	// bigTextNsPerBit bounds the CPU a conversion to text costs per bit
	// at the size limit (3.7 ms for 2^18 bits: 14 ns).
	bigTextNsPerBit = 16
	// bigTextCheckBits is the size from which a conversion to text is
	// checked: below it one takes microseconds.
	bigTextCheckBits = 1 << 14
	// bigParseDigitsSqPerNs is the digits² that parsing in decimal or
	// octal costs per ns: 78,914 digits took 11 ms (570 digits² per ns).
	bigParseDigitsSqPerNs = 400
	// bigParseCheckDigits is the length from which a parse is checked.
	bigParseCheckDigits = 4096
)

// checkBigText ends the turn with cpu_limit if v is a BigInt, or a BigInt
// object, whose conversion to text could not finish in the time left.
func (b *builtins) checkBigText(v goja.Value) {
	x := bigOf(v)
	if x == nil {
		if o, ok := v.(*goja.Object); ok && o.ClassName() == "BigInt" {
			x, _ = o.Export().(*big.Int)
		}
	}
	if x != nil && x.BitLen() > bigTextCheckBits {
		b.needCPU(int64(x.BitLen()), bigTextNsPerBit)
	}
}

// bigParseCost is the ns that parsing digits decimal or octal digits may
// take, or 0 below bigParseCheckDigits.
func bigParseCost(digits int) int64 {
	if digits <= bigParseCheckDigits {
		return 0
	}
	n := int64(digits)
	return n*n/bigParseDigitsSqPerNs + 1
}

// guardBigText guards BigInt.prototype.toString and toLocaleString.
func guardBigText(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		b.checkBigText(c.This)
		return call(orig, c.This, c.Arguments...)
	}
}

// guardStringCtor checks String(x) and new String(x) of a BigInt, and
// puts Cloister's String.raw in place: goja's copies a `raw` whose length
// it takes from the argument, without end (`String.raw({raw: {length:
// 2 ** 53 - 1}})` appends "undefined" until the process runs out of
// memory) and without a look at the interrupt or the memory limit. It is
// reached through the global and through String.prototype.constructor,
// and guarded once.
func (b *builtins) guardStringCtor(f *goja.Object) {
	if b.stringGuarded {
		return
	}
	b.stringGuarded = true
	patchCtor(f, func(orig func(goja.FunctionCall) goja.Value) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			if len(c.Arguments) > 0 {
				b.checkBigText(c.Arguments[0])
			}
			return orig(c)
		}
	}, func(orig func([]goja.Value, *goja.Object) *goja.Object) func([]goja.Value, *goja.Object) *goja.Object {
		return func(args []goja.Value, nt *goja.Object) *goja.Object {
			if len(args) > 0 {
				b.checkBigText(args[0])
			}
			return orig(args, nt)
		}
	})
	orig, ok := f.Get("raw").(*goja.Object)
	if !ok {
		panic("isolate: String.raw is not an object")
	}
	raw := b.newMethod("raw", orig, b.stringRaw)
	_ = f.DefineDataProperty("raw", raw, goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE)
}

// stringRaw is String.raw as the spec has it, with a CPU check every 1024
// segments, the memory charged as the result grows, and a long part
// charged before it is copied (as Array.prototype.join does).
func (b *builtins) stringRaw(c goja.FunctionCall) goja.Value {
	cooked := c.Argument(0)
	if isNullish(cooked) {
		panic(b.rt.NewTypeError("String.raw: cannot convert undefined or null to object"))
	}
	rv := cooked.ToObject(b.rt).Get("raw")
	if isNullish(rv) {
		panic(b.rt.NewTypeError("String.raw: raw is undefined or null"))
	}
	raw := rv.ToObject(b.rt)
	n := lengthOf(raw)
	if n <= 0 {
		return b.rt.ToValue("")
	}
	subs := c.Arguments
	if len(subs) > 0 {
		subs = subs[1:]
	}
	w := chargedBuilder{b: b}
	var built int64
	for k := int64(0); ; k++ {
		b.chargeStep(&w, k, &built)
		w.write(b.toStr(orUndefined(raw.Get(strconv.FormatInt(k, 10)))))
		if k+1 == n {
			break
		}
		if k < int64(len(subs)) {
			w.write(b.toStr(subs[k]))
		}
	}
	return b.resultOf(&w)
}

var _ = func() int {
	templateGuards = append(templateGuards,
		templateGuard{object: "BigInt.prototype", name: "toString", make: method(guardBigText)},
		templateGuard{object: "BigInt.prototype", name: "toLocaleString", make: method(guardBigText)},
		templateGuard{object: "globalThis", name: "String", ctor: func(b *builtins, f *goja.Object) { b.guardStringCtor(f) }},
		templateGuard{object: "String.prototype", name: "constructor", ctor: func(b *builtins, f *goja.Object) { b.guardStringCtor(f) }},
	)
	return 0
}()
