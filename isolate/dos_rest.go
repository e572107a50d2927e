package isolate

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
	"github.com/dop251/goja/token"
	"github.com/dop251/goja/unistring"
)

// Object rest: `const {a, ...r} = v` copies every own enumerable property
// of v but a into a new object, in one Go loop of goja's that looks at
// neither the interrupt nor the memory limit. From a typed array or a
// string that is a property per element: `const {...r} = new
// Uint8Array(1e6)` held a turn for 3.5 s under a 50 ms limit. The value a
// rest copies from is not in the rest's own syntax (goja destructures it
// from the stack), so the rewrite below routes it through
// %big(rest, v), which checks it as an object spread's source is checked
// (bigSpread) before goja copies it:
//
//   - a declaration `P = init` (var, let, const, a for loop's head) gets
//     `P = %big(rest, init)` when P is an object pattern with a rest; a
//     pattern nested in P that holds one is replaced by a temporary and
//     destructured from it in a declarator of its own that follows, so
//     `const {x: {...r}} = v` becomes `const {x: %rest0} = v, {...r} =
//     %big(rest, %rest0)`;
//   - an assignment `P = v` gets its right side wrapped; when the rest is
//     nested, the assignment runs in an arrow function called in its
//     place, `((%rest1) => { let %rest0; ({x: %rest0} = %rest1); ({...r} =
//     %big(rest, %rest0)); return %rest1; })(v)`;
//   - a parameter from the first that holds a rest on is bound to a
//     temporary and destructured at the top of the body (after its
//     directives), its default applied there: a pattern by let, a plain
//     name by var;
//   - a for-in or for-of head and a catch parameter are bound to a
//     temporary, destructured at the top of the body.
//
// What differs from goja (docs/limits.md): a nested pattern holding a
// rest is destructured after the pattern around it, not in its place, so
// a later default that reads its names finds them uninitialized; a
// generator's parameters holding a rest are destructured at its first
// next(), not at its call; a nested destructuring assignment with a rest
// cannot hold yield or await (it throws a SyntaxError when it runs).

const (
	bigRestCode       = bigSpreadCode + 1 // %big(rest, v): v, checked
	bigRestRefuseCode = bigRestCode + 1   // %big(restRefused): throws
)

// bigRest is %big(rest, v): v itself, checked first if it is a typed
// array or a string (or a proxy of one) whose elements the rest copies.
func (b *builtins) bigRest(v goja.Value) goja.Value {
	if n, factor, typed := keyedTyped(v); typed {
		b.needKeys(n, factor, keysCopyCost, "object rest")
	}
	return v
}

const restRefusedMsg = "a nested destructuring assignment with an object rest cannot hold yield or await here: destructure in two steps"

// restSite is a place the rewrite changes: a declaration list, an
// assignment (with the slot that holds it), a parameter list, a for-in
// or for-of head, or a catch clause, and the var scope it is in.
type restSite struct {
	node  any
	slot  reflect.Value
	scope *[]*ast.VariableDeclaration
}

type restRewriter struct {
	n          int               // temporaries made
	temps      []*ast.Identifier // those the last expand made
	lastParams []ast.Statement   // what the last params made
}

// rewriteRests rewrites every object rest of prg as the comment above
// says, and reports whether it found any. It walks the tree with its own
// stack and rewrites the sites it found in the reverse of that order,
// inner ones first.
func rewriteRests(prg *ast.Program) bool {
	if prg.File != nil && !strings.Contains(prg.File.Source(), "...") {
		return false // no rest: the walk costs about 10 µs a KB of source
	}
	var sites []restSite
	defaults := map[*ast.AssignExpression]bool{} // pattern defaults, not assignments
	type frame struct {
		v     reflect.Value
		scope *[]*ast.VariableDeclaration
	}
	stack := []frame{{reflect.ValueOf(prg), &prg.DeclarationList}}
	seen := map[uintptr]bool{}
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		v, scope := f.v, f.scope
		switch v.Kind() {
		case reflect.Interface:
			if v.IsNil() {
				continue
			}
			if ae, ok := v.Interface().(*ast.AssignExpression); ok && !defaults[ae] && ae.Operator == token.ASSIGN &&
				isPattern(ae.Left) && hasRest(ae.Left) {
				sites = append(sites, restSite{node: ae, slot: v, scope: scope})
			}
			stack = append(stack, frame{v.Elem(), scope})
		case reflect.Pointer:
			if v.IsNil() {
				continue
			}
			e := v.Elem()
			if e.Kind() != reflect.Struct || e.Type().PkgPath() != astPkg || seen[v.Pointer()] {
				continue
			}
			seen[v.Pointer()] = true
			switch n := v.Interface().(type) {
			case *ast.FunctionLiteral:
				scope = &n.DeclarationList
				sites = append(sites, restSite{node: n, scope: scope})
			case *ast.ArrowFunctionLiteral:
				scope = &n.DeclarationList
				sites = append(sites, restSite{node: n, scope: scope})
			case *ast.ClassStaticBlock:
				scope = &n.DeclarationList
			case *ast.VariableStatement, *ast.ForLoopInitializerVarDeclList,
				*ast.ForInStatement, *ast.ForOfStatement, *ast.CatchStatement:
				// (A let or const is found as the struct below: a for
				// loop's head holds one by value.)
				sites = append(sites, restSite{node: n, scope: scope})
			case *ast.ObjectPattern:
				for _, p := range n.Properties {
					if k, ok := p.(*ast.PropertyKeyed); ok {
						if ae, ok := k.Value.(*ast.AssignExpression); ok {
							defaults[ae] = true
						}
					}
				}
			case *ast.ArrayPattern:
				for _, el := range n.Elements {
					if ae, ok := el.(*ast.AssignExpression); ok {
						defaults[ae] = true
					}
				}
			}
			stack = append(stack, frame{e, scope})
		case reflect.Struct, reflect.Slice:
			if v.Kind() == reflect.Struct && v.CanAddr() && v.Type() == lexicalDeclType {
				sites = append(sites, restSite{node: v.Addr().Interface(), scope: scope})
			}
			stack = pushParts(stack, v, func(c reflect.Value) frame { return frame{c, scope} })
		}
	}
	r := &restRewriter{}
	done := false
	for k := len(sites) - 1; k >= 0; k-- {
		s := sites[k]
		switch n := s.node.(type) {
		case *ast.VariableStatement:
			done = r.declList(&n.List, s.scope) || done
		case *ast.ForLoopInitializerVarDeclList:
			done = r.declList(&n.List, s.scope) || done
		case *ast.LexicalDeclaration:
			done = r.declList(&n.List, nil) || done
		case *ast.AssignExpression:
			r.assign(n, s.slot)
			done = true
		case *ast.FunctionLiteral:
			if r.params(n.ParameterList, s.scope) {
				insertTop(n.Body, r.lastParams)
				done = true
			}
		case *ast.ArrowFunctionLiteral:
			if r.params(n.ParameterList, s.scope) {
				if eb, ok := n.Body.(*ast.ExpressionBody); ok {
					at := eb.Expression.Idx0()
					n.Body = &ast.BlockStatement{LeftBrace: at, List: []ast.Statement{&ast.ReturnStatement{Return: at, Argument: eb.Expression}}, RightBrace: at}
				}
				insertTop(n.Body.(*ast.BlockStatement), r.lastParams)
				done = true
			}
		case *ast.ForInStatement:
			done = r.forInto(&n.Into, &n.Body, s.scope) || done
		case *ast.ForOfStatement:
			done = r.forInto(&n.Into, &n.Body, s.scope) || done
		case *ast.CatchStatement:
			if n.Parameter != nil && isPattern(n.Parameter) && hasRest(n.Parameter) {
				t := r.temp(n.Parameter.Idx0())
				decl := &ast.LexicalDeclaration{Idx: n.Parameter.Idx0(), Token: token.LET, List: r.bindings(n.Parameter, t)}
				n.Parameter = t
				n.Body = &ast.BlockStatement{LeftBrace: n.Body.LeftBrace, List: []ast.Statement{decl, n.Body}, RightBrace: n.Body.RightBrace}
				done = true
			}
		}
	}
	return done
}

var lexicalDeclType = reflect.TypeOf(ast.LexicalDeclaration{})

// pushParts pushes the parts of v, a struct of goja's AST (its exported
// fields) or a slice (its elements), last first, so that a walk that pops
// them visits them in source order.
func pushParts[T any](stack []T, v reflect.Value, item func(reflect.Value) T) []T {
	if v.Kind() == reflect.Slice {
		for k := v.Len() - 1; k >= 0; k-- {
			stack = append(stack, item(v.Index(k)))
		}
		return stack
	}
	for k := v.NumField() - 1; k >= 0; k-- {
		if v.Type().Field(k).IsExported() {
			stack = append(stack, item(v.Field(k)))
		}
	}
	return stack
}

func isPattern(e ast.Expression) bool {
	_, ok := e.(ast.Pattern)
	return ok
}

// targetSlots returns the slots that hold p's direct targets (a default's
// target, not the default).
func targetSlots(p ast.Expression) []*ast.Expression {
	var out []*ast.Expression
	add := func(e *ast.Expression) {
		if ae, ok := (*e).(*ast.AssignExpression); ok {
			e = &ae.Left
		}
		out = append(out, e)
	}
	switch p := p.(type) {
	case *ast.ObjectPattern:
		for _, prop := range p.Properties {
			if k, ok := prop.(*ast.PropertyKeyed); ok {
				add(&k.Value)
			}
		}
	case *ast.ArrayPattern:
		for k := range p.Elements {
			if p.Elements[k] != nil {
				add(&p.Elements[k])
			}
		}
		if p.Rest != nil {
			out = append(out, &p.Rest)
		}
	}
	return out
}

// hasRest reports whether p is, or holds, an object pattern with a rest.
func hasRest(p ast.Expression) bool {
	stack := []ast.Expression{p}
	for len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if o, ok := e.(*ast.ObjectPattern); ok && o.Rest != nil {
			return true
		}
		for _, s := range targetSlots(e) {
			stack = append(stack, *s)
		}
	}
	return false
}

// restsIn returns the patterns in p (p included) that are or hold an
// object pattern with a rest, in one walk: expand asks about every
// nested pattern, and asking hasRest each time would walk a pattern
// nested n deep n times (a 64 KB eval of patterns 990 deep took 268 ms).
func restsIn(p ast.Expression) map[ast.Expression]bool {
	holds := map[ast.Expression]bool{}
	type item struct {
		e    ast.Expression
		done bool // its targets are decided
	}
	stack := []item{{e: p}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		slots := targetSlots(it.e)
		if !it.done {
			stack = append(stack, item{it.e, true})
			for _, s := range slots {
				stack = append(stack, item{e: *s})
			}
			continue
		}
		o, ok := it.e.(*ast.ObjectPattern)
		h := ok && o.Rest != nil
		for _, s := range slots {
			h = h || holds[*s]
		}
		if h {
			holds[it.e] = true
		}
	}
	return holds
}

// nestedRest reports whether a target of p (not p itself) holds a rest.
func nestedRest(p ast.Expression) bool {
	for _, s := range targetSlots(p) {
		if isPattern(*s) && hasRest(*s) {
			return true
		}
	}
	return false
}

func (r *restRewriter) temp(at file.Idx) *ast.Identifier {
	r.n++
	return &ast.Identifier{Name: unistring.NewFromString("%rest" + strconv.Itoa(r.n)), Idx: at}
}

func useOf(t *ast.Identifier) *ast.Identifier { return &ast.Identifier{Name: t.Name, Idx: t.Idx} }

// restPair is one destructuring the rewrite makes: a target and the value
// it is destructured from.
type restPair struct {
	target ast.Expression
	init   ast.Expression
}

// expand rewrites the destructuring of init into p as a list of them, the
// first p's own: each nested pattern holding a rest is replaced in its
// pattern by a temporary and destructured from it after, and the value of
// every object pattern with a rest passes through %big(rest, …).
func (r *restRewriter) expand(p, init ast.Expression) []restPair {
	var out []restPair
	r.temps = r.temps[:0]
	holds := restsIn(p)
	stack := []restPair{{p, init}}
	for len(stack) > 0 {
		q := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		var parts []restPair
		for _, s := range targetSlots(q.target) {
			if isPattern(*s) && holds[*s] {
				t := r.temp((*s).Idx0())
				parts = append(parts, restPair{*s, useOf(t)})
				r.temps = append(r.temps, t)
				*s = useOf(t)
			}
		}
		if o, ok := q.target.(*ast.ObjectPattern); ok && o.Rest != nil && q.init != nil {
			q.init = callAt(bigRestCode, q.init.Idx0(), q.init)
		}
		out = append(out, q)
		for k := len(parts) - 1; k >= 0; k-- {
			stack = append(stack, parts[k])
		}
	}
	return out
}

// bindings is expand's list as declarators.
func (r *restRewriter) bindings(p ast.Expression, t *ast.Identifier) []*ast.Binding {
	pairs := r.expand(p, useOf(t))
	out := make([]*ast.Binding, len(pairs))
	for k, q := range pairs {
		out[k] = &ast.Binding{Target: q.target.(ast.BindingTarget), Initializer: q.init}
	}
	return out
}

// declList rewrites the declarators of a declaration; scope is the var
// scope its new names are declared in, nil for let and const.
func (r *restRewriter) declList(list *[]*ast.Binding, scope *[]*ast.VariableDeclaration) bool {
	var out []*ast.Binding
	changed := false
	for _, b := range *list {
		if b.Initializer == nil || !isPattern(b.Target) || !hasRest(b.Target) {
			out = append(out, b)
			continue
		}
		changed = true
		pairs := r.expand(b.Target, b.Initializer)
		// b keeps its place (a var's is in its scope's list already);
		// its target now names the temporaries in place of the nested
		// patterns.
		b.Initializer = pairs[0].init
		out = append(out, b)
		var added []*ast.Binding
		for _, q := range pairs[1:] {
			added = append(added, &ast.Binding{Target: q.target.(ast.BindingTarget), Initializer: q.init})
		}
		out = append(out, added...)
		if scope != nil && len(added) > 0 {
			*scope = append(*scope, &ast.VariableDeclaration{Var: b.Target.Idx0(), List: added})
		}
	}
	if changed {
		*list = out
	}
	return changed
}

// assign rewrites the assignment ae, held in slot, whose pattern holds a
// rest.
func (r *restRewriter) assign(ae *ast.AssignExpression, slot reflect.Value) {
	at := ae.Left.Idx0()
	if !nestedRest(ae.Left) {
		ae.Right = callAt(bigRestCode, ae.Right.Idx0(), ae.Right)
		return
	}
	if holdsSuspension(ae.Left) || !slot.CanSet() || slot.Type() != exprType {
		// Refused as it runs: its right side throws before anything is
		// destructured (and a slot of another type, which goja's AST
		// has none of today, fails closed the same way).
		ae.Right = callAt(bigRestRefuseCode, at)
		return
	}
	v := r.temp(at)
	pairs := r.expand(ae.Left, useOf(v))
	var temps []*ast.Binding
	var body []ast.Statement
	for _, t := range r.temps {
		temps = append(temps, &ast.Binding{Target: useOf(t)})
	}
	for _, q := range pairs {
		body = append(body, &ast.ExpressionStatement{Expression: &ast.AssignExpression{Operator: token.ASSIGN, Left: q.target, Right: q.init}})
	}
	if len(temps) > 0 {
		body = append([]ast.Statement{&ast.LexicalDeclaration{Idx: at, Token: token.LET, List: temps}}, body...)
	}
	body = append(body, &ast.ReturnStatement{Return: at, Argument: useOf(v)})
	arrow := &ast.ArrowFunctionLiteral{
		Start:         at,
		ParameterList: &ast.ParameterList{Opening: at, List: []*ast.Binding{{Target: v}}, Closing: at},
		Body:          &ast.BlockStatement{LeftBrace: at, List: body, RightBrace: at},
	}
	call := &ast.CallExpression{Callee: arrow, LeftParenthesis: at, ArgumentList: []ast.Expression{ae.Right}, RightParenthesis: at}
	slot.Set(reflect.ValueOf(ast.Expression(call)))
}

// holdsSuspension reports whether p holds a yield or an await outside a
// function of its own: such a pattern cannot move into an arrow function.
func holdsSuspension(p ast.Expression) bool {
	stack := []reflect.Value{reflect.ValueOf(p)}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch v.Kind() {
		case reflect.Interface:
			if !v.IsNil() {
				stack = append(stack, v.Elem())
			}
		case reflect.Pointer:
			if v.IsNil() || v.Elem().Kind() != reflect.Struct || v.Elem().Type().PkgPath() != astPkg {
				continue
			}
			switch v.Interface().(type) {
			case *ast.YieldExpression, *ast.AwaitExpression:
				return true
			case *ast.FunctionLiteral, *ast.ArrowFunctionLiteral, *ast.ClassLiteral:
				continue
			}
			stack = append(stack, v.Elem())
		case reflect.Struct, reflect.Slice:
			stack = pushParts(stack, v, func(c reflect.Value) reflect.Value { return c })
		}
	}
	return false
}

// params rewrites a parameter list holding a rest: the parameters from
// the first that holds one on become temporaries (with a default of
// `void 0` where they had one, so the function's length stays), and
// r.lastParams are the statements that destructure them in order: let
// for a pattern, var (declared in scope, the function's own) for a plain
// name, which a var in the body may declare again. It reports whether it
// rewrote.
func (r *restRewriter) params(pl *ast.ParameterList, scope *[]*ast.VariableDeclaration) bool {
	if pl == nil {
		return false
	}
	first := -1
	for k, b := range pl.List {
		if isPattern(b.Target) && hasRest(b.Target) {
			first = k
			break
		}
	}
	restToo := pl.Rest != nil && isPattern(pl.Rest) && hasRest(pl.Rest)
	if first < 0 && !restToo {
		return false
	}
	if first < 0 {
		first = len(pl.List)
	}
	var stmts []ast.Statement
	add := func(target, init ast.Expression) {
		var decl []*ast.Binding
		for _, q := range r.expand(target, init) {
			decl = append(decl, &ast.Binding{Target: q.target.(ast.BindingTarget), Initializer: q.init})
		}
		at := target.Idx0()
		if isPattern(target) {
			// let, as a parameter's names are in their dead zone until
			// it is bound.
			stmts = append(stmts, &ast.LexicalDeclaration{Idx: at, Token: token.LET, List: decl})
			return
		}
		stmts = append(stmts, &ast.VariableStatement{Var: at, List: decl})
		*scope = append(*scope, &ast.VariableDeclaration{Var: at, List: decl})
	}
	for k := first; k < len(pl.List); k++ {
		b := pl.List[k]
		at := b.Target.Idx0()
		t := r.temp(at)
		nb := &ast.Binding{Target: t}
		var init ast.Expression = useOf(t)
		if b.Initializer != nil {
			nb.Initializer = void0(at)
			init = &ast.ConditionalExpression{
				Test:       &ast.BinaryExpression{Operator: token.STRICT_EQUAL, Left: useOf(t), Right: void0(at)},
				Consequent: b.Initializer,
				Alternate:  useOf(t),
			}
		}
		pl.List[k] = nb
		add(b.Target, init)
	}
	if restToo {
		t := r.temp(pl.Rest.Idx0())
		add(pl.Rest, useOf(t))
		pl.Rest = t
	}
	r.lastParams = stmts
	return true
}

func void0(at file.Idx) ast.Expression {
	return &ast.UnaryExpression{Operator: token.VOID, Idx: at, Operand: &ast.NumberLiteral{Idx: at, Literal: "0", Value: int64(0)}}
}

// insertTop puts st at the top of body, after its directives.
func insertTop(body *ast.BlockStatement, st []ast.Statement) {
	k := 0
	for ; k < len(body.List); k++ {
		es, ok := body.List[k].(*ast.ExpressionStatement)
		if !ok {
			break
		}
		if _, ok := es.Expression.(*ast.StringLiteral); !ok {
			break
		}
	}
	body.List = append(body.List[:k], append(st, body.List[k:]...)...)
}

// forInto rewrites a for-in or for-of head whose target holds a rest: the
// head binds a temporary, destructured at the top of the body.
func (r *restRewriter) forInto(into *ast.ForInto, body *ast.Statement, scope *[]*ast.VariableDeclaration) bool {
	var st ast.Statement
	switch x := (*into).(type) {
	case *ast.ForIntoVar:
		b := x.Binding
		if !isPattern(b.Target) || !hasRest(b.Target) {
			return false
		}
		t := r.temp(b.Target.Idx0())
		head := &ast.Binding{Target: t}
		*scope = append(*scope, &ast.VariableDeclaration{Var: t.Idx, List: []*ast.Binding{head}})
		*into = &ast.ForIntoVar{Binding: head}
		pairs := r.expand(b.Target, useOf(t))
		b.Initializer = pairs[0].init // b is declared in scope already
		list := []*ast.Binding{b}
		var added []*ast.Binding
		for _, q := range pairs[1:] {
			added = append(added, &ast.Binding{Target: q.target.(ast.BindingTarget), Initializer: q.init})
		}
		if len(added) > 0 {
			*scope = append(*scope, &ast.VariableDeclaration{Var: t.Idx, List: added})
		}
		st = &ast.VariableStatement{Var: t.Idx, List: append(list, added...)}
	case *ast.ForDeclaration:
		if !isPattern(x.Target) || !hasRest(x.Target) {
			return false
		}
		t := r.temp(x.Target.Idx0())
		tok := token.LET
		if x.IsConst {
			tok = token.CONST
		}
		st = &ast.LexicalDeclaration{Idx: x.Idx, Token: tok, List: r.bindings(x.Target, t)}
		*into = &ast.ForDeclaration{Idx: x.Idx, IsConst: x.IsConst, Target: t}
	case *ast.ForIntoExpression:
		if !isPattern(x.Expression) || !hasRest(x.Expression) {
			return false
		}
		t := r.temp(x.Expression.Idx0())
		es := &ast.ExpressionStatement{Expression: &ast.AssignExpression{Operator: token.ASSIGN, Left: x.Expression, Right: useOf(t)}}
		r.assign(es.Expression.(*ast.AssignExpression), reflect.ValueOf(&es.Expression).Elem())
		*into = &ast.ForDeclaration{Idx: t.Idx, IsConst: true, Target: t}
		st = es
	default:
		return false
	}
	at := (*body).Idx0()
	*body = &ast.BlockStatement{LeftBrace: at, List: []ast.Statement{st, *body}, RightBrace: (*body).Idx1()}
	return true
}
