package isolate

import (
	"reflect"
	"unsafe"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"
)

// Some globals are built only when a script first reads them: the guarded
// typed-array family and JSON (see builtins.go) and eval. goja creates its builtins lazily, but wrapping one
// eagerly builds it, and the typed-array family alone is ~30 KB per isolate.
//
// goja's public API cannot replace a global without building the original
// first, so the deferral works on the global object's own storage: each
// deferred builtin's entry is left empty (goja's "white hole", as after a
// delete), which hides it without building it, and an object put between
// the global object and Object.prototype (lazyProto) answers for the hidden
// names. The first read of one of them, through any path that reaches the
// global object, builds its whole group: the originals are taken from
// goja's templates, wrapped, and the wrappers become ordinary own
// properties (writable, configurable, not enumerable); the same wrappers
// replace the originals wherever else a script could reach them (a
// prototype's constructor). A global the script defined itself meanwhile is
// left alone.
//
// Paths to a deferred builtin that do not go through the global object are
// closed where they open: a message carrying bytes installs the typed
// arrays before the decoder builds its ArrayBuffer (Isolate.decode).
//
// If goja's layout is not the one expected (setupLazy checks every type),
// every group is installed eagerly instead, as before.
//
// Visible to scripts: a deferred global is not an own property of
// globalThis until first read (Object.getOwnPropertyNames and hasOwnProperty
// miss it), globalThis's prototype is an empty object whose prototype is
// Object.prototype, and deleting a deferred global before its first read
// does not remove it.
type lazyGroup uint8

const (
	lazyTypedArrays lazyGroup = iota
	lazyJSON
	lazyEval
	lazyWeb // Request, Response, URL and the other web classes, see web.go
	numLazyGroups
)

// lazyNames maps each deferred global to its group. Shared, read-only.
var lazyNames = map[string]lazyGroup{
	"JSON": lazyJSON,
	"eval": lazyEval,
}

func init() {
	for _, ta := range typedArrayCtors {
		lazyNames[ta.name] = lazyTypedArrays
	}
}

// lazyGlobals is an isolate's deferred globals. Used only on the isolate's
// goroutine.
type lazyGlobals struct {
	i       *Isolate
	g       *goja.Object
	values  map[unistring.String]goja.Value // the global object's own properties, goja's storage
	pending uint8                           // groups not yet installed, one bit each
}

var (
	valuesType    = reflect.TypeOf(map[unistring.String]goja.Value(nil))
	propNamesType = reflect.TypeOf([]unistring.String(nil))
)

// globalStorage returns the own-property map and name list of goja's global
// object, and the names of its template, or ok false if the layout is not
// the expected one.
func globalStorage(g *goja.Object) (values *map[unistring.String]goja.Value, names *[]unistring.String, tmplNames []unistring.String, ok bool) {
	if selfField < 0 {
		return nil, nil, nil, false
	}
	self := reflect.ValueOf(g).Elem().Field(selfField)
	if self.Kind() != reflect.Interface || self.IsNil() {
		return nil, nil, nil, false
	}
	p := self.Elem()
	if p.Kind() != reflect.Pointer || p.Type().Elem().Name() != "templatedObject" {
		return nil, nil, nil, false
	}
	s := p.Elem()
	base := s.FieldByName("baseObject")
	tmpl := s.FieldByName("tmpl")
	if !base.IsValid() || !tmpl.IsValid() || tmpl.Kind() != reflect.Pointer || tmpl.IsNil() {
		return nil, nil, nil, false
	}
	v, n := base.FieldByName("values"), base.FieldByName("propNames")
	tn := tmpl.Elem().FieldByName("propNames")
	if !v.IsValid() || v.Type() != valuesType || !n.IsValid() || n.Type() != propNamesType ||
		!tn.IsValid() || tn.Type() != propNamesType {
		return nil, nil, nil, false
	}
	values = (*map[unistring.String]goja.Value)(unsafe.Pointer(v.UnsafeAddr()))
	names = (*[]unistring.String)(unsafe.Pointer(n.UnsafeAddr()))
	tmplNames = *(*[]unistring.String)(unsafe.Pointer(tn.UnsafeAddr()))
	if *values == nil {
		return nil, nil, nil, false
	}
	return values, names, tmplNames, true
}

// setupLazy hides the deferred globals. It reports false, having changed
// nothing, if the global object is not laid out as expected or a deferred
// builtin was already built.
func (i *Isolate) setupLazy() bool {
	g := i.rt.GlobalObject()
	values, names, tmplNames, ok := globalStorage(g)
	if !ok {
		return false
	}
	for name := range lazyNames {
		if _, built := (*values)[unistring.String(name)]; built {
			return false
		}
	}
	// goja copies the template's names on the first change; do it now,
	// without the hidden ones.
	src := *names
	if src == nil {
		src = tmplNames
	}
	own := make([]unistring.String, 0, len(src))
	for _, n := range src {
		if _, lazy := lazyNames[string(n)]; !lazy {
			own = append(own, n)
		}
	}
	*names = own[:len(own):len(own)]
	for name := range lazyNames {
		(*values)[unistring.String(name)] = nil
	}
	l := &lazyGlobals{i: i, g: g, values: *values, pending: 1<<numLazyGroups - 1}
	proto := i.rt.NewDynamicObject(l)
	if err := g.SetPrototype(proto); err != nil {
		panic(err)
	}
	i.lazy = l
	return true
}

// original returns goja's own builtin name, built from its template
// whatever the script did to the global since.
func (l *lazyGlobals) original(name string) goja.Value {
	key := unistring.String(name)
	saved, had := l.values[key]
	delete(l.values, key)
	v := l.g.Get(name)
	if had {
		l.values[key] = saved
	} else {
		delete(l.values, key)
	}
	return v
}

// define makes v the global name, unless the script defined its own.
func (l *lazyGlobals) define(name string, v goja.Value) {
	if cur, ok := l.values[unistring.String(name)]; ok && cur != nil {
		return
	}
	// Fails only on a global object the script made non-extensible; the
	// value is still served by lazyProto.
	_ = l.g.DefineDataProperty(name, v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

// ensure installs group g if it is still pending.
func (l *lazyGlobals) ensure(g lazyGroup) {
	if l != nil && l.pending&(1<<g) != 0 {
		l.install(g, "")
	}
}

// install installs group g and returns the value it gave key, even if that
// could not be defined on the global object.
func (l *lazyGlobals) install(g lazyGroup, key string) goja.Value {
	l.pending &^= 1 << g
	var v goja.Value
	err := protect(func() error {
		return l.i.installGroup(g, l.original, func(name string, val goja.Value) {
			l.define(name, val)
			if name == key {
				v = val
			}
		})
	})
	if err != nil {
		panic(err)
	}
	return v
}

// lazyProto is the object between globalThis and Object.prototype: it
// answers for the deferred globals not yet installed.

func (l *lazyGlobals) Get(key string) goja.Value {
	g, ok := lazyNames[key]
	if !ok || l.pending&(1<<g) == 0 {
		return nil
	}
	return l.install(g, key)
}

func (l *lazyGlobals) Has(key string) bool {
	g, ok := lazyNames[key]
	return ok && l.pending&(1<<g) != 0
}

func (l *lazyGlobals) Set(string, goja.Value) bool { return false }
func (l *lazyGlobals) Delete(string) bool          { return false }
func (l *lazyGlobals) Keys() []string              { return nil }

// hasBin reports whether msgpack data may hold a bin value (which decodes
// to a Uint8Array): conservatively, whether any byte is a bin header.
func hasBin(data []byte) bool {
	for _, c := range data {
		if c >= 0xc4 && c <= 0xc6 {
			return true
		}
	}
	return false
}
