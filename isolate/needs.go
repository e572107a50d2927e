package isolate

import (
	"math/big"
	"reflect"
	"strings"

	"github.com/dop251/goja/ast"
)

// needs is what a compiled program can reach of goja's builtins without
// passing through a template (see template.go): a regular expression
// literal builds RegExp.prototype, whose constructor is RegExp; an async
// function's or a generator's prototype chain leads to the AsyncFunction or
// GeneratorFunction constructor; `arguments` carries the array iterator
// function. Their guards are put in place before such a program runs, and
// only then: an isolate whose script has none of them does not build them
// (about 23 KB per isolate). Every other way to run new code — eval, the
// Function constructors — puts every guard in place first (see
// builtins.ensureCodegen), and the guarded String methods that build a
// RegExp from a string guard RegExp first.
type needs uint8

const (
	needRegExp needs = 1 << iota
	needAsync
	needGenerator
	needArguments // `arguments` or a direct eval: the array iterator function without Array.prototype
	needAll       = needRegExp | needAsync | needGenerator | needArguments
	// needBigInt: the program can reach BigInt, so its arithmetic is
	// rewritten (bigint.go). Not part of needAll: code compiled at run
	// time cannot make code compiled before reach it.
	needBigInt needs = 1 << 4
	// needBigIntLiteral: the program holds a BigInt literal (and so
	// needBigInt); code made at run time in an isolate without the
	// operator guards must not (bigint.go).
	needBigIntLiteral needs = 1 << 5
	// needGlobalOps: the program's rewritten operators (concat.go,
	// bigint.go) call the helper through its global binding, as its
	// module function cannot take it as a parameter (opsparam.go).
	needGlobalOps needs = 1 << 6
)

// maxScanNodes bounds the AST walk: a program larger than that is assumed
// to need everything. Sources are at most 4 MiB and checked for nesting
// (checkSource), so the walk's recursion is bounded by their depth.
const maxScanNodes = 1 << 22

// scanNeeds walks a parsed program and reports what it needs. It looks at
// every node of goja's ast package reflectively (positions, names and the
// file are not nodes), so a node type added to goja's AST is walked too.
func scanNeeds(prg *ast.Program) needs {
	s := needsScan{}
	s.walk(reflect.ValueOf(prg), 0)
	if s.nodes > maxScanNodes || s.deep {
		return needAll | needBigInt | needBigIntLiteral
	}
	return s.found
}

type needsScan struct {
	found needs
	nodes int
	deep  bool
}

var (
	regExpLitType    = reflect.TypeOf((*ast.RegExpLiteral)(nil))
	funcLitType      = reflect.TypeOf((*ast.FunctionLiteral)(nil))
	arrowLitType     = reflect.TypeOf((*ast.ArrowFunctionLiteral)(nil))
	identType        = reflect.TypeOf((*ast.Identifier)(nil))
	numberLitType    = reflect.TypeOf((*ast.NumberLiteral)(nil))
	stringLitType    = reflect.TypeOf((*ast.StringLiteral)(nil))
	templateElemType = reflect.TypeOf((*ast.TemplateElement)(nil))
	astPkg           = identType.Elem().PkgPath()
)

func (s *needsScan) walk(v reflect.Value, depth int) {
	if s.found == needAll|needBigInt|needBigIntLiteral || s.nodes > maxScanNodes || s.deep {
		return
	}
	if depth > 4*maxNesting+64 {
		s.deep = true
		return
	}
	s.nodes++
	switch v.Kind() {
	case reflect.Interface:
		if !v.IsNil() {
			s.walk(v.Elem(), depth+1)
		}
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		switch v.Type() {
		case regExpLitType:
			s.found |= needRegExp
			return
		case funcLitType:
			f := v.Interface().(*ast.FunctionLiteral)
			if f.Async {
				s.found |= needAsync
			}
			if f.Generator {
				s.found |= needGenerator
			}
		case arrowLitType:
			if v.Interface().(*ast.ArrowFunctionLiteral).Async {
				s.found |= needAsync
			}
		case identType:
			n := v.Interface().(*ast.Identifier).Name
			if n == "arguments" || n == "eval" {
				s.found |= needArguments
			}
			if namesBigInt(n.String()) {
				s.found |= needBigInt
			}
			return
		case numberLitType:
			if _, ok := v.Interface().(*ast.NumberLiteral).Value.(*big.Int); ok {
				s.found |= needBigInt | needBigIntLiteral
			}
			return
		case stringLitType:
			if namesBigInt(v.Interface().(*ast.StringLiteral).Value.String()) {
				s.found |= needBigInt
			}
			return
		case templateElemType:
			if namesBigInt(v.Interface().(*ast.TemplateElement).Parsed.String()) {
				s.found |= needBigInt
			}
			return
		}
		if e := v.Elem(); e.Kind() == reflect.Struct && e.Type().PkgPath() == astPkg {
			s.walk(e, depth+1)
		}
	case reflect.Struct:
		if v.Type() == identType.Elem() {
			// a property name (o.name) is an Identifier held by value
			if namesBigInt(v.Interface().(ast.Identifier).Name.String()) {
				s.found |= needBigInt
			}
			return
		}
		for k := 0; k < v.NumField(); k++ {
			if v.Type().Field(k).IsExported() {
				s.walk(v.Field(k), depth+1)
			}
		}
	case reflect.Slice:
		for k := 0; k < v.Len(); k++ {
			s.walk(v.Index(k), depth+1)
		}
	}
}

// namesBigInt reports whether a name, property name or string of a program
// mentions a way to BigInt: the BigInt global and its typed arrays,
// DataView's getBigInt64 and friends. A program that builds such a name at
// run time instead meets a source that throws (builtins.bigOff).
func namesBigInt(s string) bool {
	return strings.Contains(s, "BigInt") || strings.Contains(s, "BigUint")
}
