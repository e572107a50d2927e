package isolate

import (
	"fmt"
	_ "unsafe" // go:linkname

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"
)

// The host's globals — console, setTimeout, clearTimeout — are entries of
// a process-wide template of the global object, like the builtins
// (template.go): an isolate builds each when its script first reads it, so
// one that never logs or sets a timer does not pay for them (about 5 KB per
// isolate). They are own, writable, enumerable and configurable properties
// of the global object, listed after goja's globals, as an assignment to
// the global object would have made them. The template is Cloister's copy
// of goja's (globaltmpl.go): a runtime that is not an isolate's has none
// of them.

// hostGlobals are the host's globals in the order they are listed.
var hostGlobals = []struct {
	name string
	make func(i *Isolate) goja.Value
}{
	{"console", func(i *Isolate) goja.Value { return i.newConsole() }},
	{"setTimeout", (*Isolate).setTimeoutFn},
	{"clearTimeout", (*Isolate).clearTimeoutFn},
}

//go:linkname gojaObjectFreeze github.com/dop251/goja.(*Runtime).object_freeze
func gojaObjectFreeze(r *goja.Runtime, call goja.FunctionCall) goja.Value

//go:linkname gojaNewNativeFunc github.com/dop251/goja.(*Runtime).newNativeFunc
func gojaNewNativeFunc(r *goja.Runtime, call func(goja.FunctionCall) goja.Value, name unistring.String, length int) *goja.Object

// installHostGlobals adds the host's globals to the template global was
// built from: Cloister's copy of goja's (globaltmpl.go).
func installHostGlobals(global *goja.Object) error {
	props := templates["globalThis"]
	tmpl, err := templateOf(global)
	if err != nil {
		return fmt.Errorf("goja's private layout is not the one Cloister knows: globalThis: %w", err)
	}
	names, err := tmplNames(tmpl)
	if err != nil {
		return fmt.Errorf("goja's private layout is not the one Cloister knows: globalThis: %w", err)
	}
	for _, g := range hostGlobals {
		key := unistring.String(g.name)
		if props[key] != nil {
			return fmt.Errorf("goja's global template already has %s", g.name)
		}
		mk := g.make
		props[key] = func(r *goja.Runtime) goja.Value {
			b := builtinsOf(r)
			if b == nil {
				return goja.Undefined() // as the web globals (web.go)
			}
			return mk(b.i)
		}
		*names = append(*names, key)
	}
	return nil
}
