package isolate

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"unsafe"
	"weak"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
	"github.com/dop251/goja/parser"
	"github.com/dop251/goja/token"
	"github.com/dop251/goja/unistring"
)

// BigInt arithmetic is one instruction of goja's VM, computed by Go's
// math/big, which never looks at the interrupt: `3n ** 30000000n` runs for
// seconds, `1n << (2n ** 40n)` asks for a 128 GiB allocation (a fatal out
// of memory, which no recover catches), and repeated squaring doubles its
// cost with every step. No builtin is involved, so no template guard can
// see it.
//
// Cloister closes the class at compile time. A program that can reach
// BigInt (needs.go: a BigInt literal, or any name, property or string that
// mentions one) has its operators whose cost or result can explode — `*`,
// `/`, `%`, `**`, `<<`, `>>`, `-` (a bit at a time) and their compound
// assignments, and the comparisons that parse a string as a BigInt (`==`,
// `!=`, `<`, `>`, `<=`, `>=`) — rewritten in goja's syntax tree before
// compiling (`+` is computed by the helper in every script: concat.go):
//
//	A op B        →  %big(op, A, B) op %big(right)
//	x op= B       →  x = %big(op, x, B) op %big(right)
//	O[K] op= B    →  %big(ref, O, K)[%big(key)] = %big(op, %big(obj)[%big(take)], B) op %big(right)
//
// %big, given an operator, evaluates nothing itself: it is handed both
// operands, converts each to a primitive once, in the spec's order
// (ToPrimitive with hint number, as ToNumeric does), checks the pair if
// both are BigInts, and returns the left primitive, keeping the right one
// for %big(right). goja's own operator then runs on the two primitives, so
// every result, TypeError (mixing BigInt and Number) and RangeError
// (division by zero, a negative exponent) is goja's, thrown at the
// operator's own position. Between the two calls no script code runs, so
// one slot per isolate holds the right operand, and likewise one holds the
// reference of a compound assignment between %big(ref) and %big(take).
//
// The check refuses, with `RangeError: Maximum BigInt size exceeded`, a
// result over maxBigIntBits, before it is computed; within that size every
// operation runs in well under a millisecond. A program that cannot reach
// BigInt is compiled as it is and pays nothing; if it reaches a BigInt
// source by a name built at run time, the source throws (builtins.bigOff).

// maxBigIntBits bounds the BigInts the guarded operators make: 2^18 bits,
// 78,914 decimal digits, 32 KiB. At that size a multiplication takes about
// 0.2 ms and a conversion to a decimal string (which `String(x)` and
// template literals do inside goja, unguarded) about 4 ms.
const maxBigIntBits = 1 << 18

// bigOp is the operator a guard checks.
type bigOp uint8

const (
	bigMul bigOp = iota
	bigDiv
	bigMod
	bigExp
	bigShl
	bigShr
	bigSub // checked so that no BigInt grows past the limit a bit at a time
	// The comparisons that convert a string to a BigInt (goja parses it
	// with math/big, in time quadratic in its digits).
	bigLt
	bigGt
	bigLe
	bigGe
	bigEq
	bigNe
	bigOps
)

var bigOpTokens = [bigOps]token.Token{token.MULTIPLY, token.SLASH, token.REMAINDER, token.EXPONENT, token.SHIFT_LEFT, token.SHIFT_RIGHT,
	token.MINUS, token.LESS, token.GREATER, token.LESS_OR_EQUAL, token.GREATER_OR_EQUAL, token.EQUAL, token.NOT_EQUAL}

// The rewritten code calls one helper, %big, whose first argument says
// what to do: an operator (a bigOp) or one of these. Its name is one no
// source can spell: a parameter of the module function (opsparam.go), or
// for code made at run time a global lexical declaration (not a property
// of the global object, so no reflection lists it).
const (
	bigFnName = "%big"
	bigRight  = int(bigOps) + iota // the right operand kept by the last operator call
	bigRef                         // keep a compound assignment's object and key
	bigKey                         // the key kept
	bigObj                         // the object kept
	bigTake                        // the key kept (or the argument), clearing the slot
	bigAdd                         // the whole of A + B (concat.go)
	bigStr                         // ToString of a template's expression (concat.go)
	bigTpl                         // a template literal's strings and values, joined (concat.go)
)

func bigOpOf(t token.Token) (bigOp, bool) {
	for k, o := range bigOpTokens {
		if o == t {
			return bigOp(k), true
		}
	}
	return 0, false
}

// ---- the rewrite ----

// rewriteOps rewrites, in place, the operators of prg that Cloister
// guards: with bigint, every BigInt operator (above); always, string
// concatenation — `+`, `+=` and template literals (concat.go) — and
// object spread (dos_keys.go). It reports whether it rewrote anything, so
// that the helper is bound. It
// walks the tree with its own stack (no Go recursion on the shape of the
// source: a chain of a thousand `+` is a thousand levels deep) and
// rewrites the operators it found in the reverse of the order it found
// them, children before their parent, so that no node it builds is
// visited.
func rewriteOps(prg ast.Node, bigint bool) bool {
	rests := false
	if p, ok := prg.(*ast.Program); ok {
		rests = rewriteRests(p) // dos_rest.go
	}
	var found []reflect.Value
	seen := map[uintptr]bool{} // a node reached twice is rewritten once
	stack := []reflect.Value{reflect.ValueOf(prg)}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch v.Kind() {
		case reflect.Interface:
			if v.IsNil() {
				continue
			}
			if t, ok := v.Interface().(*ast.TemplateLiteral); ok && t.Tag == nil && len(t.Expressions) > 0 && v.CanSet() && v.Type() == exprType {
				// A template is replaced in its slot: every slot that
				// holds it is recorded.
				found = append(found, v)
			}
			stack = append(stack, v.Elem())
		case reflect.Pointer:
			if v.IsNil() {
				continue
			}
			e := v.Elem()
			if e.Kind() != reflect.Struct || e.Type().PkgPath() != astPkg {
				continue
			}
			if seen[v.Pointer()] {
				continue
			}
			seen[v.Pointer()] = true
			if t := v.Type(); t == binaryType || t == assignType || t == objectLitType || bigint && isTargetHolder(t) {
				found = append(found, v)
			}
			stack = append(stack, e)
		case reflect.Struct, reflect.Slice:
			stack = pushParts(stack, v, func(c reflect.Value) reflect.Value { return c }) // dos_rest.go
		}
	}
	rewrote := false
	templates := map[*ast.TemplateLiteral]ast.Expression{}
	for k := len(found) - 1; k >= 0; k-- {
		if found[k].Kind() == reflect.Interface {
			t := found[k].Interface().(*ast.TemplateLiteral)
			call, ok := templates[t]
			if !ok {
				call = guardedTemplate(t)
				templates[t] = call
			}
			found[k].Set(reflect.ValueOf(&call).Elem())
			rewrote = true
			continue
		}
		if bigint {
			rewriteTargets(found[k].Interface().(ast.Node)) // dos_bigarray.go
		}
		switch n := found[k].Interface().(type) {
		case *ast.BinaryExpression:
			rewrote = rewriteBinary(n, bigint) || rewrote
		case *ast.AssignExpression:
			rewrote = rewriteAssign(n, bigint) || rewrote
		case *ast.ObjectLiteral:
			rewrote = rewriteSpread(n) || rewrote // dos_keys.go
		}
	}
	return rewrote || rests
}

// rewriteBigInt rewrites the BigInt operators of prg and its concatenations.
func rewriteBigInt(prg ast.Node) { rewriteOps(prg, true) }

var (
	binaryType = reflect.TypeOf((*ast.BinaryExpression)(nil))
	assignType = reflect.TypeOf((*ast.AssignExpression)(nil))
	exprType   = reflect.TypeOf((*ast.Expression)(nil)).Elem()
)

func ident(name string, at file.Idx) *ast.Identifier {
	return &ast.Identifier{Name: unistring.NewFromString(name), Idx: at}
}

// callAt is `%big(code, args...)`, positioned at at.
func callAt(code int, at file.Idx, args ...ast.Expression) *ast.CallExpression {
	list := append([]ast.Expression{&ast.NumberLiteral{Idx: at, Literal: strconv.Itoa(code), Value: int64(code)}}, args...)
	return &ast.CallExpression{Callee: ident(bigFnName, at), LeftParenthesis: at, ArgumentList: list, RightParenthesis: at}
}

// guardedBinary is `%op(left, right) op %r()`, positioned where goja
// positions the original expression (its left operand's start); for `+`,
// `%add(left, right) ?? null` (concat.go).
func guardedBinary(op bigOp, left, right ast.Expression, at file.Idx) *ast.BinaryExpression {
	if op == opAdd {
		return guardedAdd(left, right, at)
	}
	return &ast.BinaryExpression{
		Operator: bigOpTokens[op],
		Left:     callAt(int(op), at, left, right),
		Right:    callAt(bigRight, at),
	}
}

// rewriteBinary rewrites e in place if it is a guarded operator; it
// reports whether it did.
func rewriteBinary(e *ast.BinaryExpression, bigint bool) bool {
	if e.Operator == token.PLUS {
		if static(e.Left) && static(e.Right) {
			return false
		}
		at := e.Idx0()
		*e = *guardedAdd(e.Left, e.Right, at)
		return true
	}
	op, ok := bigOpOf(e.Operator)
	if !ok || !bigint {
		return false
	}
	at := e.Idx0()
	e.Left = callAt(int(op), at, e.Left, e.Right)
	e.Right = callAt(bigRight, at)
	return true
}

// rewriteAssign rewrites a compound assignment in place if its operator
// is guarded; it reports whether it did.
func rewriteAssign(e *ast.AssignExpression, bigint bool) bool {
	op, ok := bigOpOf(e.Operator)
	if e.Operator == token.PLUS {
		op, ok = opAdd, true
	} else if !bigint || op >= bigLt {
		return false
	}
	if !ok {
		return false
	}
	at := e.Idx0()
	switch t := e.Left.(type) {
	case *ast.Identifier:
		e.Right = guardedBinary(op, ident(t.Name.String(), t.Idx), e.Right, at)
	case *ast.DotExpression:
		if _, super := t.Left.(*ast.SuperExpression); super {
			// super.x: reading the reference twice has no effect.
			get := &ast.DotExpression{Left: t.Left, Identifier: t.Identifier}
			e.Right = guardedBinary(op, get, e.Right, at)
			break
		}
		key := &ast.StringLiteral{Idx: t.Identifier.Idx, Literal: "'" + t.Identifier.Name.String() + "'", Value: t.Identifier.Name}
		e.Left, e.Right = memberRef(t.Left, key, at), guardedBinary(op, memberGet(at), e.Right, at)
	case *ast.BracketExpression:
		if sup, super := t.Left.(*ast.SuperExpression); super {
			// super[K]: K is evaluated and converted once, its key kept
			// for the read.
			t.Member = &ast.SequenceExpression{Sequence: []ast.Expression{
				callAt(bigRef, at, &ast.NullLiteral{Idx: at}, t.Member), callAt(bigKey, at)}}
			get := &ast.BracketExpression{Left: sup, Member: callAt(bigTake, at), LeftBracket: t.LeftBracket, RightBracket: t.RightBracket}
			e.Right = guardedBinary(op, get, e.Right, at)
			break
		}
		e.Left, e.Right = memberRef(t.Left, t.Member, at), guardedBinary(op, memberGet(at), e.Right, at)
	case *ast.PrivateDotExpression:
		// O.#x: O is evaluated once; %take hands back the value read
		// through %obj and clears the slot.
		t.Left = callAt(bigRef, at, t.Left, &ast.NullLiteral{Idx: at})
		get := callAt(bigTake, at, &ast.PrivateDotExpression{Left: callAt(bigObj, at), Identifier: t.Identifier})
		e.Right = guardedBinary(op, get, e.Right, at)
	default:
		return false // not a valid target; goja reports the SyntaxError
	}
	e.Operator = token.ASSIGN
	return true
}

// memberRef is `%ref(obj, key)[%key()]`: the target, evaluated once.
func memberRef(obj, key ast.Expression, at file.Idx) ast.Expression {
	return &ast.BracketExpression{Left: callAt(bigRef, at, obj, key), Member: callAt(bigKey, at), LeftBracket: at, RightBracket: at}
}

// memberGet is `%obj()[%take()]`: the target's value, read as goja reads
// a member, with the key %ref converted.
func memberGet(at file.Idx) ast.Expression {
	return &ast.BracketExpression{Left: callAt(bigObj, at), Member: callAt(bigTake, at), LeftBracket: at, RightBracket: at}
}

// ---- the helpers ----

// bigState is an isolate's slots for the rewritten operators.
type bigState struct {
	on     bool       // the isolate's code has its BigInt operators rewritten
	bound  bool       // %big is bound (for BigInt operators or concatenation)
	right  goja.Value // %op's right primitive, until %r
	refObj goja.Value // a compound assignment's object, until %take
	refKey goja.Value // and its property key
	// putTraps are the traps of %big(put)'s proxies, once needed
	// (dos_bigarray.go).
	putTraps *goja.ProxyTrapConfig
	// putProxy is the last of them and putTarget its target, held weakly.
	putProxy, putTarget weak.Pointer[goja.Object]
	// ctors says which of the runtime's Array and typed array
	// constructors make BigInt typed arrays, once needed.
	ctors map[*goja.Object]bool
	// storeTraps are the traps of wrapCtor's proxies, once needed, and
	// plainSpecies is speciesCheckProgram's function (dos_species.go).
	storeTraps   *goja.ProxyTrapConfig
	plainSpecies goja.Callable
	// made counts the BigInt typed arrays constructed (typedMapper).
	made uint64
}

// bigHelperProgram declares %big in a runtime's global scope and yields a
// function that sets it: compiled once, run in every isolate whose code
// is rewritten. Nothing of the global object is touched.
var bigHelperProgram = func() *goja.Program {
	prg, err := goja.Parse("cloister-bigint", "let cloisterBig; (v) => { cloisterBig = v; }")
	if err != nil {
		panic(err)
	}
	rewriteIdent(prg, "cloisterBig", bigFnName)
	p, err := goja.CompileAST(prg, true)
	if err != nil {
		panic(err)
	}
	return p
}()

// rewriteIdent renames, in place, every identifier from in prg to to.
func rewriteIdent(prg *ast.Program, from, to string) {
	stack := []reflect.Value{reflect.ValueOf(prg)}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch v.Kind() {
		case reflect.Interface, reflect.Pointer:
			if !v.IsNil() {
				if id, ok := v.Interface().(*ast.Identifier); ok && id.Name.String() == from {
					id.Name = unistring.NewFromString(to)
				}
				stack = append(stack, v.Elem())
			}
		case reflect.Struct:
			if v.Type().PkgPath() != astPkg {
				continue
			}
			for k := 0; k < v.NumField(); k++ {
				if v.Type().Field(k).IsExported() {
					stack = append(stack, v.Field(k))
				}
			}
		case reflect.Slice:
			for k := 0; k < v.Len(); k++ {
				stack = append(stack, v.Index(k))
			}
		}
	}
}

// enableBigInt binds %big in b's runtime's global scope, once, for code
// made at run time, and lets BigInt sources make BigInts: the isolate's
// code has its BigInt operators rewritten. (Its module finds %big as its
// parameter.)
func (b *builtins) enableBigInt() {
	if !b.big.on {
		b.guardBigStores() // dos_bigarray.go
		b.captureSpecies() // dos_species.go
	}
	b.big.on = true
	b.bindOps()
}

// bindOps binds %big in b's runtime's global scope, once: for code made
// at run time (eval, the Function constructors), which cannot see the
// module function's parameter, and for a script whose module function
// cannot take it (opsparam.go).
func (b *builtins) bindOps() {
	if b.big.bound {
		return
	}
	set, err := b.rt.RunProgram(bigHelperProgram)
	if err != nil {
		panic(err)
	}
	f, ok := goja.AssertFunction(set)
	if !ok {
		panic("isolate: the BigInt helper program yields no function")
	}
	if _, err := f(goja.Undefined(), b.opsHelper()); err != nil {
		panic(err)
	}
	// Only now: a binding that failed half-way (an interrupt) is tried
	// again rather than left to a global property of the same name.
	b.big.bound = true
}

// bigHelper is %big.
func (b *builtins) bigHelper(c goja.FunctionCall) goja.Value {
	if len(c.Arguments) == 0 {
		return goja.Undefined()
	}
	code, args := int(c.Arguments[0].ToInteger()), c.Arguments[1:]
	switch code {
	case bigAdd:
		if len(args) == 2 {
			return b.add(args[0], args[1])
		}
	case bigStr:
		if len(args) == 1 {
			b.checkBigText(args[0])
			return b.stringOf(args[0])
		}
	case bigTpl:
		return b.template(args)
	case bigPutCode:
		if len(args) == 1 {
			return b.bigPut(args[0])
		}
	case bigSpreadCode:
		if len(args) == 1 {
			return b.bigSpread(args[0])
		}
	case bigRestCode:
		if len(args) == 1 {
			return b.bigRest(args[0])
		}
	case bigRestRefuseCode:
		panic(b.i.newError("SyntaxError", restRefusedMsg))
	case bigSuperKeyCode:
		if len(args) == 2 {
			return b.bigSuperKey(args[0], args[1])
		}
	}
	arg := func(k int) goja.Value {
		if k < len(args) {
			return args[k]
		}
		return goja.Undefined()
	}
	switch code {
	case bigRight:
		v := b.big.right
		b.big.right = nil
		return orUndefined(v)
	case bigRef:
		b.big.refObj, b.big.refKey = arg(0), toPropertyKey(b.rt, arg(1))
		return arg(0)
	case bigKey:
		return orUndefined(b.big.refKey)
	case bigObj:
		return orUndefined(b.big.refObj)
	case bigTake:
		k := b.big.refKey
		b.big.refObj, b.big.refKey = nil, nil
		if len(args) > 0 {
			return args[0]
		}
		return orUndefined(k)
	}
	if code < 0 || code >= int(bigOps) {
		panic("isolate: %big called with code " + strconv.Itoa(code))
	}
	return b.bigOperands(bigOp(code), arg(0), arg(1))
}

// toPropertyKey is the spec's ToPropertyKey, run once.
func toPropertyKey(rt *goja.Runtime, v goja.Value) goja.Value {
	if o, ok := v.(*goja.Object); ok {
		v = toPrimitive(rt, o, "string")
	}
	if _, sym := v.(*goja.Symbol); sym {
		return v
	}
	return v.ToString()
}

// toPrimitive is the spec's ToPrimitive of an object: @@toPrimitive if it
// has one, else valueOf and toString (toString first for hint "string").
func toPrimitive(rt *goja.Runtime, o *goja.Object, hint string) goja.Value {
	if ex := o.GetSymbol(goja.SymToPrimitive); ex != nil && !goja.IsUndefined(ex) && !goja.IsNull(ex) {
		f, ok := goja.AssertFunction(ex)
		if !ok {
			panic(rt.NewTypeError("Symbol.toPrimitive is not a function"))
		}
		v, err := f(o, rt.ToValue(hint))
		if err != nil {
			panic(err)
		}
		if _, obj := v.(*goja.Object); obj {
			panic(rt.NewTypeError("Cannot convert object to primitive value"))
		}
		return v
	}
	order := [2]string{"valueOf", "toString"}
	if hint == "string" {
		order = [2]string{"toString", "valueOf"}
	}
	for _, name := range order {
		if f, ok := goja.AssertFunction(o.Get(name)); ok {
			v, err := f(o)
			if err != nil {
				panic(err)
			}
			if _, obj := v.(*goja.Object); !obj {
				return v
			}
		}
	}
	panic(rt.NewTypeError("Cannot convert object to primitive value"))
}

// bigOperands is %op: both operands to primitives, in order, then the
// check; it returns the left one and keeps the right one for %r. Loose
// equality converts an object only when the other side is a BigInt, as
// the spec does.
func (b *builtins) bigOperands(op bigOp, l, r goja.Value) goja.Value {
	if op == bigEq || op == bigNe {
		return b.bigLoose(l, r)
	}
	if o, ok := l.(*goja.Object); ok {
		l = toPrimitive(b.rt, o, "number")
	}
	if _, sym := l.(*goja.Symbol); sym && op < bigLt {
		// ToNumeric of the left operand throws before the right one is
		// converted: goja's operator does that with r as it is.
		b.big.right = r
		return l
	}
	if o, ok := r.(*goja.Object); ok {
		r = toPrimitive(b.rt, o, "number")
	}
	x, y := bigOf(l), bigOf(r)
	switch {
	case op >= bigLt:
		// A string compared with a BigInt is parsed as one.
		if x != nil {
			b.checkBigIntString(r)
		} else if y != nil {
			b.checkBigIntString(l)
		}
	case x != nil && y != nil:
		if err := checkBigOp(op, x, y); err != "" {
			panic(b.i.newError("RangeError", err))
		}
	}
	b.big.right = r
	return l
}

// bigLoose is %op for == and !=: a string compared with a BigInt is
// parsed as one (after an object beside a BigInt is converted as goja
// converts it: hint default on the left, number on the right, where the
// spec says default for both).
func (b *builtins) bigLoose(l, r goja.Value) goja.Value {
	x, y := bigOf(l), bigOf(r)
	switch {
	case x != nil && y == nil:
		if o, ok := r.(*goja.Object); ok {
			r = toPrimitive(b.rt, o, "number")
		}
		b.checkBigIntString(r)
	case y != nil && x == nil:
		if o, ok := l.(*goja.Object); ok {
			l = toPrimitive(b.rt, o, "default")
		}
		b.checkBigIntString(l)
	}
	b.big.right = r
	return l
}

// checkBigOp says why x op y must not be computed, or "".
func checkBigOp(op bigOp, x, y *big.Int) string {
	lx, ly := x.BitLen(), y.BitLen()
	over := func(bits float64) string {
		return fmt.Sprintf("Maximum BigInt size exceeded: the result would have about %.0f bits, over the limit of %d", bits, maxBigIntBits)
	}
	switch op {
	case bigSub:
		if max(lx, ly) >= maxBigIntBits {
			if n := new(big.Int).Sub(x, y).BitLen(); n > maxBigIntBits {
				return over(float64(n))
			}
		}
	case bigMul:
		if lx == 0 || ly == 0 {
			return ""
		}
		if lx+ly-1 > maxBigIntBits {
			return over(float64(lx + ly - 1))
		}
	case bigDiv, bigMod:
		// The quotient and remainder are no longer than x; a long x is
		// divided in time linear in its length only by a one-word y.
		if lx > maxBigIntBits && ly > 64 {
			return fmt.Sprintf("Maximum BigInt size exceeded: a dividend of %d bits is over the limit of %d", lx, maxBigIntBits)
		}
	case bigExp:
		if y.Sign() <= 0 || lx <= 1 || (lx == 2 && x.Sign() < 0 && x.Cmp(big.NewInt(-1)) == 0) {
			return "" // goja's RangeError, or a result of one word
		}
		if ly > 62 {
			return over(math.Inf(1))
		}
		bits := float64(y.Int64()) * log2Abs(x)
		if bits > maxBigIntBits+1 {
			return over(bits)
		}
	case bigShl, bigShr:
		shift := y
		if op == bigShr {
			if y.Sign() >= 0 {
				return "" // a right shift
			}
			shift = new(big.Int).Neg(y)
		} else if y.Sign() < 0 {
			return ""
		}
		if lx == 0 {
			return ""
		}
		if shift.BitLen() > 62 || int64(lx)+shift.Int64() > maxBigIntBits {
			if shift.BitLen() > 62 {
				return over(math.Inf(1))
			}
			return over(float64(int64(lx) + shift.Int64()))
		}
	}
	return ""
}

// log2Abs is log2|x| for |x| >= 2, from its top 64 bits.
func log2Abs(x *big.Int) float64 {
	n := x.BitLen()
	if n <= 64 {
		return math.Log2(math.Abs(float64(new(big.Int).Abs(x).Uint64())))
	}
	top := new(big.Int).Rsh(new(big.Int).Abs(x), uint(n-64)).Uint64()
	return math.Log2(float64(top)) + float64(n-64)
}

// bigIntValueType is goja's type for a BigInt primitive: a pointer to a
// type whose underlying type is big.Int (checked in bigLayoutErr).
var bigIntValueType = reflect.TypeOf(goja.New().ToValue(big.NewInt(1)))

// bigLayoutErr says how goja's BigInt primitive differs from what bigOf
// assumes; the layout test fails loudly on a goja upgrade that changes it.
func bigLayoutErr() error {
	t := bigIntValueType
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct || t.Elem().Size() != reflect.TypeOf(big.Int{}).Size() ||
		t.Elem().ConvertibleTo(reflect.TypeOf(big.Int{})) == false {
		return fmt.Errorf("goja's BigInt value is a %v, not a *big.Int", t)
	}
	return nil
}

// bigOf is the big.Int inside a BigInt primitive, read in place (goja
// would copy it to export it), or nil for any other value.
func bigOf(v goja.Value) *big.Int {
	if v == nil {
		return nil
	}
	rv := reflect.ValueOf(v)
	if rv.Type() != bigIntValueType {
		return nil
	}
	return (*big.Int)(unsafe.Pointer(rv.Pointer()))
}

// ---- BigInt sources ----

// bigintOffMsg is what a BigInt source says in an isolate whose code was
// compiled without the operator guards.
const bigintOffMsg = "BigInt is not available to this script: a script that uses BigInt names it in its source (a BigInt literal, BigInt, BigInt64Array, BigUint64Array, getBigInt64...)"

// The BigInt global and DataView are guarded when a script first reaches
// them, through the global template (template.go), like every guarded
// builtin; the BigInt typed arrays with the other typed arrays
// (guardTypedArrays).
var _ = func() int {
	templateGuards = append(templateGuards,
		templateGuard{object: "globalThis", name: "BigInt", ctor: func(b *builtins, f *goja.Object) { b.guardBigIntGlobal(f) }},
		templateGuard{object: "globalThis", name: "DataView", ctor: func(b *builtins, f *goja.Object) { b.guardDataView(f) }},
	)
	return 0
}()

// bigOff reports whether BigInt sources must refuse in this isolate: its
// code was compiled without the operator guards, so it must never hold a
// BigInt.
func (b *builtins) bigOff() bool { return !b.big.on }

// guardBigIntGlobal guards BigInt: in an isolate without the operator
// guards every way it makes a BigInt throws; otherwise a string is parsed
// only if its result fits maxBigIntBits (Go parses decimal digits in time
// quadratic in their number), and asIntN/asUintN never build 2^bits for a
// bits past the limit.
func (b *builtins) guardBigIntGlobal(f *goja.Object) {
	off := func() { panic(b.rt.NewTypeError(bigintOffMsg)) }
	patchTemplatedCall(f, func(orig func(goja.FunctionCall) goja.Value) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			if b.bigOff() {
				off()
			}
			if len(c.Arguments) > 0 {
				v := c.Arguments[0]
				if o, ok := v.(*goja.Object); ok {
					v = toPrimitive(b.rt, o, "number")
				}
				b.checkBigIntString(v)
				c.Arguments = []goja.Value{v}
			}
			return orig(c)
		}
	})
	for _, name := range []string{"asIntN", "asUintN"} {
		orig, ok := goja.AssertFunction(f.Get(name))
		if !ok {
			panic("isolate: BigInt." + name + " is not a function")
		}
		signed := name == "asIntN"
		g := b.newMethod(name, f.Get(name).(*goja.Object), func(c goja.FunctionCall) goja.Value {
			if b.bigOff() {
				off()
			}
			bits := b.toIndex(c.Argument(0))
			v := c.Argument(1)
			if o, ok := v.(*goja.Object); ok {
				v = toPrimitive(b.rt, o, "number")
			}
			b.checkBigIntString(v)
			if bits > maxBigIntBits {
				// goja computes 2^bits whatever the value: answer the
				// cases that leave it unchanged, refuse the others.
				x := bigOf(v)
				switch {
				case x != nil && signed && int64(x.BitLen()) < bits:
					return v
				case x != nil && !signed && x.Sign() >= 0 && int64(x.BitLen()) <= bits:
					return v
				}
				panic(b.i.newError("RangeError", fmt.Sprintf("Maximum BigInt size exceeded: BigInt.%s of %d bits is over the limit of %d", name, bits, maxBigIntBits)))
			}
			return call(orig, c.This, b.rt.ToValue(bits), v)
		})
		_ = f.DefineDataProperty(name, g, goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	}
}

// checkBigIntString refuses a string that would parse to a BigInt past
// maxBigIntBits, before goja parses it, and ends the turn with cpu_limit
// if the parse could not finish in the time left.
func (b *builtins) checkBigIntString(v goja.Value) {
	b.needParse(b.bigStringCost(v))
}

// bigStringCost refuses a string that would parse to a BigInt past
// maxBigIntBits, and returns the ns its parse may take if it is long
// enough to be checked (bigint_text.go), else 0.
func (b *builtins) bigStringCost(v goja.Value) int64 {
	s, ok := v.(goja.String)
	if !ok {
		return 0
	}
	str := strings.TrimSpace(s.String())
	bitsPer := 3.33 // decimal
	if len(str) > 2 && str[0] == '0' {
		switch str[1] {
		case 'x', 'X':
			bitsPer, str = 4, str[2:]
		case 'o', 'O':
			bitsPer, str = 3, str[2:]
		case 'b', 'B':
			bitsPer, str = 1, str[2:]
		}
	}
	str = strings.TrimLeft(str, "+-0")
	if bits := float64(len(str)) * bitsPer; bits > maxBigIntBits+4 {
		panic(b.i.newError("RangeError", fmt.Sprintf("Maximum BigInt size exceeded: a string of %d digits is over the limit of %d bits", len(str), maxBigIntBits)))
	}
	if bitsPer != 4 && bitsPer != 1 {
		return bigParseCost(len(str)) // quadratic in decimal and octal (bigint_text.go)
	}
	return 0
}

// guardDataView makes DataView's BigInt accessors throw in an isolate
// without the operator guards, and check a string value otherwise.
func (b *builtins) guardDataView(f *goja.Object) {
	proto, ok := f.Get("prototype").(*goja.Object)
	if !ok {
		panic("isolate: DataView.prototype is not an object")
	}
	for _, name := range []string{"getBigInt64", "getBigUint64", "setBigInt64", "setBigUint64"} {
		ov, _ := proto.Get(name).(*goja.Object)
		orig, ok := goja.AssertFunction(ov)
		if !ok {
			panic("isolate: DataView.prototype." + name + " is not a function")
		}
		set := strings.HasPrefix(name, "set")
		g := b.newMethod(name, ov, func(c goja.FunctionCall) goja.Value {
			if b.bigOff() {
				panic(b.rt.NewTypeError(bigintOffMsg))
			}
			args := c.Arguments
			if set && len(args) > 1 {
				args = append([]goja.Value(nil), args...)
				args[0] = b.rt.ToValue(b.toIndex(args[0]))
				if o, ok := args[1].(*goja.Object); ok {
					args[1] = toPrimitive(b.rt, o, "number")
				}
				b.checkBigIntString(args[1])
			}
			return call(orig, c.This, args...)
		})
		_ = proto.DefineDataProperty(name, g, goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	}
}

// ---- code made at run time ----

// mayNameBigInt is a cheap first look at generated source: false when it
// can hold neither a BigInt literal (a digit, then n) nor a name of one.
func mayNameBigInt(src string) bool {
	return strings.Contains(src, "Big") || mayHoldBigIntLiteral(src)
}

// mayHoldBigIntLiteral is false when src holds no digit followed by n.
func mayHoldBigIntLiteral(src string) bool {
	for k := 1; k < len(src); k++ {
		if src[k] == 'n' {
			c := src[k-1]
			if c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '_' {
				return true
			}
		}
	}
	return false
}

// mayConcat is a cheap first look at generated source: false when it
// holds no `+`, no template literal and no spread (dos_keys.go).
func mayConcat(src string) bool {
	return strings.ContainsAny(src, "+`") || strings.Contains(src, "...")
}

// generated compiles source made at run time (eval, the Function
// constructors) with its operators rewritten as the isolate's script was:
// concatenations always, BigInt operators when the isolate's code has
// them rewritten. It returns nil where goja may compile it itself; in an
// isolate without the BigInt operator guards, code with a BigInt literal
// throws.
func (b *builtins) generated(src string) *goja.Program {
	concat := mayConcat(src)
	if !b.big.on && !concat && !mayHoldBigIntLiteral(src) {
		return nil
	}
	prg, err := parseGenerated(src)
	if err != nil {
		if b.big.on || concat {
			panic(b.i.newError("SyntaxError", err.Error()))
		}
		return nil // goja reports it
	}
	if !b.big.on && scanNeeds(prg)&needBigIntLiteral != 0 {
		// Names of BigInt sources are harmless here: the sources throw.
		panic(b.rt.NewTypeError(bigintOffMsg))
	}
	if !rewriteOps(prg, b.big.on) && !b.big.on {
		return nil
	}
	b.refuseWithHelper(prg)
	b.bindOps()
	p, err := goja.CompileAST(prg, false)
	if err != nil {
		panic(b.i.newError("SyntaxError", err.Error()))
	}
	return p
}

// parseGenerated parses code made at run time. goja's parser panics on
// some malformed patterns (`try {} catch ([...[`, found by
// FuzzRestPatterns): such a panic is a syntax error of the code, not of
// the isolate.
func parseGenerated(src string) (prg *ast.Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			prg, err = nil, errors.New("the parser could not read this code")
		}
	}()
	return goja.Parse("<eval>", src, parser.WithDisableSourceMaps)
}

// evalGenerated runs eval's code, rewritten, in the global scope as
// indirect eval does, when it holds an operator to guard. It runs as a
// script, not as eval code: its top-level var declarations (strict code's
// too) become globals that cannot be deleted; code with top-level let,
// const or class declarations is run as one block, so that they stay its
// own as in eval (and its function declarations with them). docs/limits.md
// states these differences.
func (b *builtins) evalGenerated(src string) (goja.Value, bool) {
	concat := mayConcat(src)
	switch {
	case !b.big.on && !concat:
		b.generated(src) // throws if the code holds a BigInt literal
		return nil, false
	case b.big.on && !concat && !mayNameBigInt(src) && !strings.ContainsAny(src, "*/%<>-=!"):
		return nil, false // no operator to guard
	}
	prg, err := parseGenerated(src)
	if err != nil {
		panic(b.i.newError("SyntaxError", err.Error()))
	}
	if !b.big.on && scanNeeds(prg)&needBigIntLiteral != 0 {
		panic(b.rt.NewTypeError(bigintOffMsg))
	}
	for _, st := range prg.Body {
		switch st.(type) {
		case *ast.LexicalDeclaration, *ast.ClassDeclaration:
			prg.Body = []ast.Statement{&ast.BlockStatement{LeftBrace: prg.Idx0(), List: prg.Body, RightBrace: prg.Idx1()}}
		}
		if len(prg.Body) == 1 {
			break
		}
	}
	if !rewriteOps(prg, b.big.on) && !b.big.on {
		return nil, false // nothing to guard: goja's own eval
	}
	b.refuseWithHelper(prg)
	b.bindOps()
	p, err := goja.CompileAST(prg, false)
	if err != nil {
		panic(b.i.newError("SyntaxError", err.Error()))
	}
	v, err := b.rt.RunProgram(p)
	if err != nil {
		panic(err)
	}
	return v, true
}

// functionGenerated builds what a Function constructor builds from its
// coerced arguments, compiled by generated; nil where goja may build it.
func (b *builtins) functionGenerated(prefix string, args []goja.Value, nt *goja.Object) *goja.Object {
	var sb strings.Builder
	sb.WriteString("(" + prefix + " anonymous(")
	if len(args) > 1 {
		for k, a := range args[:len(args)-1] {
			if k > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(a.String())
		}
	}
	sb.WriteString("\n) {\n")
	if len(args) > 0 {
		sb.WriteString(args[len(args)-1].String())
	}
	sb.WriteString("\n})")
	p := b.generated(sb.String())
	if p == nil {
		return nil
	}
	v, err := b.rt.RunProgram(p)
	if err != nil {
		panic(err)
	}
	f, ok := v.(*goja.Object)
	if !ok {
		panic(b.i.newError("SyntaxError", "Function: the source is not a function"))
	}
	if nt != nil {
		if p, ok := nt.Get("prototype").(*goja.Object); ok {
			_ = f.SetPrototype(p)
		}
	}
	return f
}

// templateCallType is the type of the call function of goja's native
// functions built from a template (BigInt among them).
var templateCallType = reflect.TypeOf((func(goja.FunctionCall) goja.Value)(nil))

// templatedCall is the call function slot of o, a native function built
// from a template, located by its field name ("f") and type: an error if
// goja's layout is not that (TestBigInt_GojaLayout fails loudly).
func templatedCall(o *goja.Object) (*func(goja.FunctionCall) goja.Value, error) {
	self, err := selfOf(o)
	if err != nil {
		return nil, err
	}
	e := self.Elem()
	if e.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%v is not a struct", self.Type())
	}
	fld, ok := e.Type().FieldByName("f")
	if !ok || fld.Type != templateCallType {
		return nil, fmt.Errorf("%v has no call function f", self.Type())
	}
	return (*func(goja.FunctionCall) goja.Value)(unsafe.Pointer(e.FieldByIndex(fld.Index).UnsafeAddr())), nil
}

// patchTemplatedCall replaces the call function of o with wrap's result.
func patchTemplatedCall(o *goja.Object, wrap func(func(goja.FunctionCall) goja.Value) func(goja.FunctionCall) goja.Value) {
	p, err := templatedCall(o)
	if err != nil {
		panic("isolate: goja's private layout is not the one Cloister knows: " + err.Error())
	}
	if *p != nil {
		*p = wrap(*p)
	}
}
