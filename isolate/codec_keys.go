package isolate

import (
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"
)

// Listing an ordinary object's keys without allocating.
//
// goja's Object.Keys allocates an iterator, a value and a string for every
// key: most of the cost of encoding a small message such as
// {type: "inc", by: 1}. For an ordinary object the encoder reads the keys
// from goja's own property list instead, into a buffer it reuses. It does
// so only where the result is exactly what Keys would return: an object
// whose implementation is goja's plain object, whose keys are all ASCII
// (goja keeps them as the Go string itself) and none of which starts with a
// digit (goja lists array-index keys first, in numeric order). Any other
// object takes Keys. The fields read are located by name and checked when
// first used; if goja's layout differs, every object takes Keys
// (TestCodec_PlainKeysLayout fails loudly).

var plainLayout = sync.OnceValues(func() (plainObjectLayout, error) {
	var l plainObjectLayout
	self, err := selfOf(goja.New().NewObject())
	if err != nil {
		return l, err
	}
	l.t = self.Type()
	if l.t.Elem().Name() != "baseObject" {
		return l, fmt.Errorf("a plain object is a %s", l.t)
	}
	if l.propNames, err = fieldOffset(l.t.Elem(), "propNames", reflect.TypeOf([]unistring.String(nil))); err != nil {
		return l, err
	}
	if l.values, err = fieldOffset(l.t.Elem(), "values", reflect.TypeOf(map[unistring.String]goja.Value(nil))); err != nil {
		return l, err
	}
	if templateErr != nil || layout.vpType == nil {
		return l, fmt.Errorf("valueProperty not located: %v", templateErr)
	}
	if l.enumerable, err = fieldOffset(layout.vpType.Elem(), "enumerable", reflect.TypeOf(false)); err != nil {
		return l, err
	}
	return l, nil
})

type plainObjectLayout struct {
	t          reflect.Type // *goja.baseObject
	propNames  uintptr      // offset of baseObject.propNames
	values     uintptr      // offset of baseObject.values
	enumerable uintptr      // offset of valueProperty.enumerable
}

// plainSelf returns goja's implementation of o (a *baseObject) if o is
// goja's plain object, or nil: a compare of o's interface word with the
// one the maker's probe read, without reflection.
func plainSelf(m *plainObjectMaker, o *goja.Object) unsafe.Pointer {
	if m == nil {
		return nil
	}
	w := (*[2]unsafe.Pointer)(unsafe.Add(unsafe.Pointer(o), m.objSelf))
	if w[0] != m.selfTab {
		return nil
	}
	return w[1]
}

// plainKeys appends to buf the keys o.Keys() would return, when o is an
// ordinary object it can read them from (see above), and reports whether
// it could; it also returns o's property map, for plainValue. It runs no
// script code.
func plainKeys(o *goja.Object, buf []string) ([]string, map[unistring.String]goja.Value, bool) {
	m, _ := plainMaker()
	p := plainSelf(m, o)
	if p == nil {
		return buf, nil, false
	}
	buf, _, values, ok := plainKeysOf(p, buf, nil)
	return buf, values, ok
}

// plainKeysOf is plainKeys of the plain object whose implementation is p;
// beside each key it appends to vals what plainValue would return for it.
func plainKeysOf(p unsafe.Pointer, buf []string, vals []goja.Value) ([]string, []goja.Value, map[unistring.String]goja.Value, bool) {
	l, err := plainLayout()
	if err != nil {
		return buf, vals, nil, false
	}
	names := *(*[]unistring.String)(unsafe.Add(p, l.propNames))
	values := *(*map[unistring.String]goja.Value)(unsafe.Add(p, l.values))
	start, vstart := len(buf), len(vals)
	for _, n := range names {
		s := string(n)
		if len(s) > 0 && s[0] >= '0' && s[0] <= '9' {
			clear(vals[vstart:])
			return buf[:start], vals[:vstart], nil, false // maybe an array index: goja orders those first
		}
		for k := 0; k < len(s); k++ {
			if s[k] >= 0x80 {
				clear(vals[vstart:])
				return buf[:start], vals[:vstart], nil, false // a UTF-16 key
			}
		}
		v := values[n]
		if v == nil {
			continue
		}
		if reflect.TypeOf(v) == layout.vpType {
			if !*(*bool)(unsafe.Add(reflect.ValueOf(v).UnsafePointer(), l.enumerable)) {
				continue
			}
			v = nil // an accessor or other attributes: the caller asks Get
		}
		buf = append(buf, s)
		vals = append(vals, v)
	}
	return buf, vals, values, true
}

// plainValue returns what o.Get(k) would for a key k that plainKeys
// listed, read from the map values it returned, when that value is a plain
// data property (what every decoded or literal property is); nil otherwise
// (a getter, a property with other attributes, or one deleted since), and
// the caller asks Get.
func plainValue(values map[unistring.String]goja.Value, k string) goja.Value {
	v := values[unistring.String(k)] // plainKeys lists only ASCII keys, whose goja form is the string itself
	if v == nil || reflect.TypeOf(v) == layout.vpType {
		return nil
	}
	return v
}
