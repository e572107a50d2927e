package isolate

import (
	"fmt"
	"math/big"
	"reflect"
	"strconv"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
	"github.com/dop251/goja/token"
)

// String concatenation by `+`, `+=` and template literals is an
// instruction of goja's VM, not a builtin: it copies both strings into a
// new one in a single step that never looks at the interrupt or the
// memory limit. `s += s` in a loop doubles a string every step; the step
// that takes it from half the limit to twice it has started before any
// probe could see the heap grow (the heap reached 128-512 MiB under a
// 64 MiB limit).
//
// So every script has its concatenations rewritten where it is compiled,
// in the same pass as the BigInt operators (bigint.go):
//
//	A + B             →  %big(add, A, B) ?? null
//	x += B            →  x = %big(add, x, B) ?? null   (members as in bigint.go)
//	`a${X}b${Y}c`     →  %big(tpl, "a", %big(str, X), "b", Y, "c")
//
// %big(add) does what goja's `+` does — both operands to primitives (hint
// default), in order; strings if either is one, else numbers or BigInts —
// and, before it builds a string of more than concatCheckUnits units,
// charges it to the memory limit (a string that would cross the limit is
// refused before it is allocated) and copies it in pieces with a CPU check
// between them (pieces of concatPieceUnits). A BigInt sum over maxBigIntBits is refused as the other
// BigInt operators' results are. `?? null` keeps the node a binary
// expression, rewritten in place; its right side never runs, since a sum
// is never nullish. A template converts each value to a string before the
// next one is evaluated, as the spec says, and joins them in one call.
// Sums of two literals, or of operands that can only be numbers, BigInts
// or short strings (`a * b + 1`, `typeof x + "!"`), are left to goja.

// opAdd is `+` among the guarded operators: the rewrite's own, since goja
// computes a sum in the helper rather than after it.
const opAdd bigOp = 255

// concatCheckUnits is the length from which a concatenation is charged
// and copied in pieces: below it a copy takes microseconds, and charging
// garbage only brings on heap walks.
const concatCheckUnits = 64 << 10

// concatPieceUnits is the piece a long string is copied in, with a CPU
// check after each: about 0.1 ms of copying, a millisecond where its
// pages are touched for the first time.
const concatPieceUnits = 256 << 10

// guardedAdd is `%big(add, left, right) ?? null`.
func guardedAdd(left, right ast.Expression, at file.Idx) *ast.BinaryExpression {
	return &ast.BinaryExpression{
		Operator: token.COALESCE,
		Left:     callAt(bigAdd, at, left, right),
		Right:    &ast.NullLiteral{Idx: at},
	}
}

// guardedTemplate is the call that replaces an untagged template literal
// with at least one substitution.
func guardedTemplate(t *ast.TemplateLiteral) ast.Expression {
	at := t.Idx0()
	args := make([]ast.Expression, 0, 2*len(t.Expressions)+1)
	for k, e := range t.Expressions {
		args = append(args, quasi(t.Elements[k], at))
		if k < len(t.Expressions)-1 {
			e = callAt(bigStr, e.Idx0(), e)
		}
		args = append(args, e)
	}
	args = append(args, quasi(t.Elements[len(t.Elements)-1], at))
	return callAt(bigTpl, at, args...)
}

func quasi(e *ast.TemplateElement, at file.Idx) ast.Expression {
	return &ast.StringLiteral{Idx: at, Literal: strconv.Quote(e.Parsed.String()), Value: e.Parsed}
}

// static reports whether e can only be a number, a BigInt made by a
// guarded operator, a boolean, undefined, null or a string no longer than
// the source: a sum of two such needs no guard.
func static(e ast.Expression) bool {
	switch e := e.(type) {
	case *ast.NumberLiteral, *ast.StringLiteral, *ast.BooleanLiteral, *ast.NullLiteral:
		return true
	case *ast.TemplateLiteral:
		return e.Tag == nil && len(e.Expressions) == 0
	case *ast.BinaryExpression:
		switch e.Operator {
		case token.PLUS:
			return true // left unrewritten: both its operands are static
		case token.MINUS, token.MULTIPLY, token.SLASH, token.REMAINDER, token.EXPONENT,
			token.AND, token.OR, token.EXCLUSIVE_OR, token.SHIFT_LEFT, token.SHIFT_RIGHT, token.UNSIGNED_SHIFT_RIGHT,
			token.LESS, token.GREATER, token.LESS_OR_EQUAL, token.GREATER_OR_EQUAL,
			token.EQUAL, token.NOT_EQUAL, token.STRICT_EQUAL, token.STRICT_NOT_EQUAL,
			token.INSTANCEOF, token.IN:
			return true
		}
	case *ast.UnaryExpression:
		switch e.Operator {
		case token.MINUS, token.PLUS, token.BITWISE_NOT, token.NOT, token.TYPEOF, token.VOID, token.DELETE, token.INCREMENT, token.DECREMENT:
			return true
		}
	}
	return false
}

// intValueType is goja's type for an integer Number.
var intValueType = reflect.TypeOf(goja.New().ToValue(1))

// add is %big(add): A + B as the spec (and goja) computes it, with the
// string's size checked before it is built.
func (b *builtins) add(l, r goja.Value) goja.Value {
	if o, ok := l.(*goja.Object); ok {
		l = toPrimitive(b.rt, o, "default")
	}
	if o, ok := r.(*goja.Object); ok {
		r = toPrimitive(b.rt, o, "default")
	}
	ls, lok := l.(goja.String)
	rs, rok := r.(goja.String)
	if lok || rok {
		if !lok {
			b.checkBigText(l)
			ls = b.toStr(l)
		}
		if !rok {
			b.checkBigText(r)
			rs = b.toStr(r)
		}
		n := ls.Length() + rs.Length()
		if n < concatCheckUnits {
			return ls.Concat(rs)
		}
		if n < concatPieceUnits {
			// charged, then copied by goja in one go: a copy this short
			// takes well under a millisecond
			_, bytes := sizeOf([]goja.String{ls, rs})
			b.reserveString(int64(n), bytes)
			return ls.Concat(rs)
		}
		return b.join([]goja.String{ls, rs})
	}
	lt, rt := reflect.TypeOf(l), reflect.TypeOf(r)
	if lt == intValueType && rt == intValueType {
		return intValue(b.rt, l.ToInteger()+r.ToInteger())
	}
	if lt == bigIntValueType || rt == bigIntValueType {
		x, y := bigOf(l), bigOf(r)
		if x == nil || y == nil {
			panic(b.rt.NewTypeError("Cannot mix BigInt and other types, use explicit conversions"))
		}
		z := new(big.Int).Add(x, y)
		if z.BitLen() > maxBigIntBits {
			panic(b.i.newError("RangeError", fmt.Sprintf("Maximum BigInt size exceeded: the result would have about %d bits, over the limit of %d", z.BitLen(), maxBigIntBits)))
		}
		return b.rt.ToValue(z)
	}
	if _, sym := l.(*goja.Symbol); sym {
		panic(b.rt.NewTypeError("Cannot convert a Symbol value to a number"))
	}
	if _, sym := r.(*goja.Symbol); sym {
		panic(b.rt.NewTypeError("Cannot convert a Symbol value to a number"))
	}
	return b.rt.ToValue(l.ToFloat() + r.ToFloat())
}

// stringOf is the spec's ToString; an object without a primitive value
// says so without goja's Go struct print.
func (b *builtins) stringOf(v goja.Value) goja.String {
	if o, ok := v.(*goja.Object); ok {
		v = toPrimitive(b.rt, o, "string")
	}
	return b.toStr(v)
}

// template is %big(tpl): the strings and values of a template literal,
// alternating, each value converted to a string (all but the last already
// are), joined.
func (b *builtins) template(args []goja.Value) goja.Value {
	parts := make([]goja.String, len(args))
	n := 0
	for k, a := range args {
		b.checkBigText(a)
		parts[k] = b.stringOf(a)
		n += parts[k].Length()
	}
	if n < concatCheckUnits {
		var sb goja.StringBuilder
		sb.Grow(n)
		for _, p := range parts {
			sb.WriteString(p)
		}
		return sb.String()
	}
	return b.join(parts)
}

// join concatenates parts into a string of at least concatCheckUnits
// units: charged to the memory limit first, then copied in pieces with a
// CPU check after each.
func (b *builtins) join(parts []goja.String) goja.String {
	n, bytes := sizeOf(parts)
	b.reserveString(n, bytes)
	return b.assemble(parts)
}

// reserveString charges a string of n units and bytes bytes, refusing one
// the limit cannot hold.
func (b *builtins) reserveString(n, bytes int64) {
	if bytes > b.lim.limit {
		panic(b.refuse(fmt.Sprintf("a string of %d units is over the memory limit of %d bytes", n, b.lim.limit)))
	}
	b.lim.reserve(bytes)
	// The buffer is allocated in one piece, with no CPU check inside: a
	// result the turn has no time left for ends it now (dos_fresh.go).
	b.needFresh(bytes)
}

// freshCheckBytes is the size from which a concatenation's buffer is
// checked against the turn's time left, at freshNsPerByte: a 32 MiB buffer
// took 24-77 ms of uninterruptible faulting on a loaded 2-core VM.
const (
	freshCheckBytes = 4 << 20
	freshNsPerByte  = 1
)

// sizeOf is the units and bytes of the concatenation of parts.
func sizeOf(parts []goja.String) (units, bytes int64) {
	uni := false
	for _, p := range parts {
		units += int64(p.Length())
		if unitBytes(p) == 2 {
			uni = true
		}
	}
	if uni {
		return units, 2*units + 2
	}
	return units, units
}

// assemble concatenates parts, already charged, into a buffer of the
// exact size, copied in pieces with a CPU check after each.
func (b *builtins) assemble(parts []goja.String) goja.String {
	n, bytes := sizeOf(parts)
	var sb goja.StringBuilder
	if bytes > n {
		sb.LikelyUnicode(int(n))
	} else {
		sb.Grow(int(n))
	}
	for _, p := range parts {
		b.copyChunked(&sb, p)
	}
	return sb.String()
}

// copyChunked writes s to sb, a piece of concatCheckUnits units at a time
// with a CPU check after each: on this kind of VM the first touch of a
// fresh page costs microseconds, and one copy of 32 MiB ran 40-80 ms.
// What it writes must be charged already.
func (b *builtins) copyChunked(sb *goja.StringBuilder, s goja.String) {
	end := s.Length()
	if end < concatPieceUnits {
		sb.WriteString(s)
		return
	}
	for from := 0; from < end; from += concatPieceUnits {
		sb.WriteSubstring(s, from, min(from+concatPieceUnits, end))
		b.tick()
	}
}

// chargedBuilder builds a string part by part for a builtin that loops
// over the script's data (join, String.raw): short parts are charged in
// batches (charge, called with each CPU check), a long one (from
// concatCheckUnits units) is charged before it is kept, and the result is
// copied once into a buffer of the exact size (assemble).
type chargedBuilder struct {
	b       *builtins
	sb      goja.StringBuilder
	pending int64         // bytes written and not yet charged
	big     []goja.String // what sb held before each long part, and that part, in order
}

// write appends s, charged now if it is long, else at the next charge.
func (w *chargedBuilder) write(s goja.String) {
	if s.Length() >= concatCheckUnits {
		w.b.lim.reserve(int64(s.Length()) * unitBytes(s))
		w.big = append(w.big, w.sb.String(), s)
		w.sb = goja.StringBuilder{}
		return
	}
	w.pending += int64(s.Length()) * unitBytes(s)
	w.sb.WriteString(s)
}

// writeCharged appends s, which the caller has charged already.
func (w *chargedBuilder) writeCharged(s goja.String) { w.sb.WriteString(s) }

// charge charges what was written since the last charge.
func (w *chargedBuilder) charge() {
	w.b.lim.reserve(w.pending)
	w.pending = 0
}

// result charges the rest and returns the string.
func (w *chargedBuilder) result() goja.String {
	w.charge()
	if w.big != nil {
		return w.b.assemble(append(w.big, w.sb.String()))
	}
	return w.sb.String()
}
