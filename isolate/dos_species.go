package isolate

import (
	"strconv"

	"github.com/dop251/goja"
)

// A builtin that makes its result with a constructor the script chose
// (Array.of and Array.from with a `this` of the script's, and map,
// filter, slice, splice, concat, flat and flatMap with an array's
// species) stores its values into whatever that constructor returned,
// from Go. When that is a BigInt typed array, goja parses a string value
// in one piece: `[s].map(x => x)` with a species that returns a
// BigInt64Array(1), s a million digits, ran 1.4 s; the parse is quadratic
// and the memory limit lets through strings of tens of millions of
// digits, hours. So in an isolate that can make BigInt typed arrays, such
// a builtin is handed, in place of a constructor that may make one, a
// native constructor that runs it and, when it made a BigInt typed array,
// hands the builtin a proxy of it that converts every element stored
// (bigElement, as a member assignment does); the builtin's result is the
// typed array itself. A script's constructor is still called once, with
// the same arguments and new.target.

// bigCtorWrap is what wrapCtor made for one call of a builtin: the BigInt
// typed array the wrapped constructor returned and the proxy handed to
// the builtin in its place.
type bigCtorWrap struct{ made, proxy *goja.Object }

// result is the builtin's result v, with the proxy replaced by the typed
// array behind it.
func (w *bigCtorWrap) result(v goja.Value) goja.Value {
	if w.proxy != nil && v == goja.Value(w.proxy) {
		return w.made
	}
	return v
}

// wrapCtor is c, or, when c is a constructor that may make a BigInt
// typed array (mayMakeBigArray), the native constructor described above.
func (b *builtins) wrapCtor(c goja.Value, w *bigCtorWrap) goja.Value {
	o, ok := c.(*goja.Object)
	if !ok || !b.mayMakeBigArray(o, true) {
		return c
	}
	if _, ctor := goja.AssertConstructor(o); !ctor {
		return c
	}
	return b.rt.ToValue(func(cc goja.ConstructorCall) *goja.Object {
		a, err := b.rt.New(o, cc.Arguments...)
		if err != nil {
			panic(err)
		}
		if !bigStore(a) {
			return a
		}
		if b.big.storeTraps == nil {
			b.big.storeTraps = b.storeTraps()
		}
		w.made = a
		w.proxy = b.rt.ToValue(b.rt.NewProxy(a, b.big.storeTraps)).(*goja.Object)
		return w.proxy
	})
}

// storeTraps are putTraps, and a definition of an element (what a
// builtin's CreateDataProperty does) converting its value first.
func (b *builtins) storeTraps() *goja.ProxyTrapConfig {
	t := *b.putTraps()
	define := func(o *goja.Object, k string, d goja.PropertyDescriptor) bool {
		var err error
		if d.Getter != nil || d.Setter != nil {
			err = o.DefineAccessorProperty(k, d.Getter, d.Setter, d.Configurable, d.Enumerable)
		} else {
			v := orUndefined(d.Value)
			if isIndexKey(b.rt.ToValue(k)) {
				v = b.bigElement(v)
			}
			err = o.DefineDataProperty(k, v, d.Writable, d.Configurable, d.Enumerable)
		}
		if err != nil {
			panic(err)
		}
		return true
	}
	t.DefineProperty = define
	t.DefinePropertyIdx = func(o *goja.Object, k int, d goja.PropertyDescriptor) bool {
		return define(o, strconv.Itoa(k), d)
	}
	return &t
}

// speciesOf is the value a builtin reads as an array's constructor, c,
// as the builtin should see it: an object's species read through a proxy
// that hands back wrapCtor's constructor in place of one that may make a
// BigInt typed array. Everything else reaches c itself.
func (b *builtins) speciesOf(c goja.Value, w *bigCtorWrap) goja.Value {
	o, ok := c.(*goja.Object)
	if !ok {
		return c
	}
	return b.rt.ToValue(b.rt.NewProxy(o, &goja.ProxyTrapConfig{
		GetSym: func(t *goja.Object, s *goja.Symbol, _ goja.Value) goja.Value {
			v := orUndefined(t.GetSymbol(s))
			if s == goja.SymSpecies {
				return b.wrapCtor(v, w)
			}
			return v
		},
	}))
}

// speciesCheckProgram yields, run before a script, a function that
// reports whether a plain array's species is goja's own Array: its
// prototype is Array.prototype, it has no constructor of its own,
// Array.prototype's is Array, a data property, and Array's species
// getter is the one goja made. It reads only descriptors, so no script
// runs; what it compares with is taken before the script could change it.
// The symbol is handed in from Go: reaching it through the global Symbol
// would build that constructor in every such isolate (8.7 KB kept).
var speciesCheckProgram = goja.MustCompile("cloister-species", `(function (speciesSym) {
	const gopd = Object.getOwnPropertyDescriptor, proto = Object.getPrototypeOf;
	const AP = Array.prototype, A = Array, species = gopd(A, speciesSym).get;
	return (o) => {
		if (proto(o) !== AP || gopd(o, "constructor") !== undefined) return false;
		const c = gopd(AP, "constructor");
		if (c === undefined || c.value !== A || c.get !== undefined) return false;
		const s = gopd(A, speciesSym);
		return s !== undefined && s.get === species;
	};
})`, true)

// captureSpecies takes, before the script runs, the function of
// speciesCheckProgram.
func (b *builtins) captureSpecies() {
	v, err := b.rt.RunProgram(speciesCheckProgram)
	if err != nil {
		panic(err)
	}
	mk, ok := goja.AssertFunction(v)
	if !ok {
		panic("isolate: the species check program yields no function")
	}
	b.big.plainSpecies, _ = goja.AssertFunction(call(mk, goja.Undefined(), goja.SymSpecies))
}

// ownSpecies reports whether a species method called on the plain array
// o makes its result with goja's own Array: always in an isolate that
// cannot make BigInt typed arrays.
func (b *builtins) ownSpecies(o *goja.Object) bool {
	if b.big.plainSpecies == nil {
		return true
	}
	return call(b.big.plainSpecies, goja.Undefined(), o).ToBoolean()
}

// callSpecies calls the species method orig on the plain array o: as it
// is when its species is goja's own Array, else as on a generic receiver.
func (b *builtins) callSpecies(orig goja.Callable, o *goja.Object, args []goja.Value) goja.Value {
	if b.ownSpecies(o) {
		return call(orig, o, args...)
	}
	return b.callPinned(orig, o, args, true)
}

// callPinned calls orig on a pinned proxy of o (dos.go), whose
// constructor, for a species method in an isolate that can make BigInt
// typed arrays, reads through speciesOf. A result that is the proxy is o.
func (b *builtins) callPinned(orig goja.Callable, o *goja.Object, args []goja.Value, species bool) goja.Value {
	var w *bigCtorWrap
	if species && b.big.plainSpecies != nil {
		w = &bigCtorWrap{}
	}
	p := b.pinned(o, w)
	v := call(orig, p, args...)
	if v == goja.Value(p) {
		return o
	}
	if w != nil {
		return w.result(v)
	}
	return v
}

// typedMapper wraps the callback of map on a typed array that holds
// Numbers: goja makes the result with the array's species, which a
// script can have return a BigInt typed array (goja does not check the
// kind), and stores what the callback returns into it. Whether a BigInt
// typed array was constructed since map began is decided at the first
// call, before the script's callback runs, that is, once the species has
// made the result; if one was, every value the callback returns is
// converted as for a BigInt typed array (bigElement).
func (b *builtins) typedMapper(fn, this goja.Value) goja.Value {
	f, ok := goja.AssertFunction(fn)
	if !ok {
		return fn // goja throws the TypeError
	}
	made := b.big.made
	decided, convert := false, false
	return b.rt.ToValue(func(c goja.FunctionCall) goja.Value {
		if !decided {
			decided, convert = true, b.big.made != made
		}
		v := call(f, this, c.Arguments...)
		if convert {
			v = b.bigElement(v)
		}
		return v
	})
}
