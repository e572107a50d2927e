package isolate

import (
	"reflect"

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
		return needAll
	}
	return s.found
}

type needsScan struct {
	found needs
	nodes int
	deep  bool
}

var (
	regExpLitType = reflect.TypeOf((*ast.RegExpLiteral)(nil))
	funcLitType   = reflect.TypeOf((*ast.FunctionLiteral)(nil))
	arrowLitType  = reflect.TypeOf((*ast.ArrowFunctionLiteral)(nil))
	identType     = reflect.TypeOf((*ast.Identifier)(nil))
	astPkg        = identType.Elem().PkgPath()
)

func (s *needsScan) walk(v reflect.Value, depth int) {
	if s.found == needAll || s.nodes > maxScanNodes || s.deep {
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
			if n := v.Interface().(*ast.Identifier).Name; n == "arguments" || n == "eval" {
				s.found |= needArguments
			}
			return
		}
		if e := v.Elem(); e.Kind() == reflect.Struct && e.Type().PkgPath() == astPkg {
			s.walk(e, depth+1)
		}
	case reflect.Struct:
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
