package isolate

import (
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"
)

// Making the plain objects of a decoded message in one allocation.
//
// Runtime.NewObject allocates a goja.Object, its implementation (goja's
// baseObject) and an empty property map; the decoder then adds a property
// list. For the decoder, which knows how many properties an object will
// get, the object, its implementation and a property list of up to
// maxInlineNames names are one allocation (a struct made once per size with
// reflect.StructOf). The map is made empty, as NewObject makes it: a hint
// would not help up to 8 properties (one group of a Go map), and above that
// a header claiming many entries with repeated keys would make the
// receiver allocate more than the heap estimate charges. The fields set are
// the ones NewObject sets, located by name; the first use builds one object
// both ways on a scratch runtime and compares every field, and if anything
// differs (a goja upgrade added or moved a field) the decoder falls back to
// NewObject. TestCodec_PlainMakerLayout fails loudly in that case.
//
// Memory: the block holds what NewObject's three blocks and the list held,
// so the heap cost constants of package codec still describe it. If the
// object later grows past its inline list, goja moves the list and the
// inline names (at most maxInlineNames*16 bytes) stay with the object.

// maxInlineNames is the largest property list allocated with its object.
const maxInlineNames = 8

type plainObjectMaker struct {
	objRuntime uintptr // offset of Object.runtime
	objSelf    uintptr // offset of Object.self
	selfTab    unsafe.Pointer
	class      uintptr // offsets in baseObject
	val        uintptr
	proto      uintptr
	extensible uintptr
	values     uintptr
	propNames  uintptr
	rtProto    uintptr // offset of Runtime.global.ObjectPrototype
	className  string
	// blocks[n] is struct{O goja.Object; B baseObject; N [n]unistring.String};
	// base is the offset of B and names of N in it.
	blocks [maxInlineNames + 1]reflect.Type
	base   uintptr
	names  uintptr
}

var plainMaker = sync.OnceValues(probePlainMaker)

func probePlainMaker() (*plainObjectMaker, error) {
	m := &plainObjectMaker{}
	var err error
	objT := reflect.TypeOf(goja.Object{})
	rtPtr := reflect.TypeOf((*goja.Runtime)(nil))
	objPtr := reflect.TypeOf((*goja.Object)(nil))
	if m.objRuntime, err = fieldOffset(objT, "runtime", rtPtr); err != nil {
		return nil, err
	}
	sf, ok := objT.FieldByName("self")
	if !ok || sf.Type.Kind() != reflect.Interface || sf.Type.NumMethod() == 0 {
		return nil, fmt.Errorf("goja.Object.self is not an interface")
	}
	m.objSelf = sf.Offset

	r := goja.New()
	ref := r.NewObject()
	self, err := selfOf(ref)
	if err != nil {
		return nil, err
	}
	baseT := self.Type().Elem()
	if baseT.Name() != "baseObject" {
		return nil, fmt.Errorf("a plain object is a %s", self.Type())
	}
	for _, f := range []struct {
		off  *uintptr
		name string
		t    reflect.Type
	}{
		{&m.class, "class", reflect.TypeOf("")},
		{&m.val, "val", objPtr},
		{&m.proto, "prototype", objPtr},
		{&m.extensible, "extensible", reflect.TypeOf(false)},
		{&m.values, "values", reflect.TypeOf(map[unistring.String]goja.Value(nil))},
		{&m.propNames, "propNames", reflect.TypeOf([]unistring.String(nil))},
	} {
		if *f.off, err = fieldOffset(baseT, f.name, f.t); err != nil {
			return nil, err
		}
	}
	g, ok := reflect.TypeOf(goja.Runtime{}).FieldByName("global")
	if !ok || g.Type.Kind() != reflect.Struct {
		return nil, fmt.Errorf("goja.Runtime has no struct field global")
	}
	op, err := fieldOffset(g.Type, "ObjectPrototype", objPtr)
	if err != nil {
		return nil, err
	}
	m.rtProto = g.Offset + op

	refBase := self.UnsafePointer()
	m.selfTab = (*[2]unsafe.Pointer)(unsafe.Add(unsafe.Pointer(ref), m.objSelf))[0]
	m.className = *(*string)(unsafe.Add(refBase, m.class))
	if *(**goja.Object)(unsafe.Add(refBase, m.proto)) != m.objectPrototype(r) {
		return nil, fmt.Errorf("Runtime.global.ObjectPrototype is not the prototype of a new object")
	}
	for n := range m.blocks {
		m.blocks[n] = reflect.StructOf([]reflect.StructField{
			{Name: "O", Type: objT},
			{Name: "B", Type: baseT},
			{Name: "N", Type: reflect.ArrayOf(n, reflect.TypeOf(unistring.String("")))},
		})
	}
	m.base = m.blocks[0].Field(1).Offset
	m.names = m.blocks[0].Field(2).Offset

	// The proof: an object made here equals one NewObject made, field by
	// field, once the fields that must differ are set aside.
	mine, _, _ := m.make(r, 2)
	if err := samePlainObject(ref, mine, baseT, m); err != nil {
		return nil, err
	}
	return m, nil
}

// samePlainObject compares a (from NewObject) and b (from m) in every
// field but their own identity, map and list.
func samePlainObject(a, b *goja.Object, baseT reflect.Type, m *plainObjectMaker) error {
	sa, err := selfOf(a)
	if err != nil {
		return err
	}
	sb, err := selfOf(b)
	if err != nil {
		return err
	}
	if sa.Type() != sb.Type() {
		return fmt.Errorf("made a %s, NewObject makes a %s", sb.Type(), sa.Type())
	}
	objT := reflect.TypeOf(goja.Object{})
	scrub := func(o *goja.Object, p unsafe.Pointer) (any, any) {
		oc := reflect.New(objT)
		oc.Elem().Set(reflect.NewAt(objT, unsafe.Pointer(o)).Elem())
		*(*[2]unsafe.Pointer)(unsafe.Add(oc.UnsafePointer(), m.objSelf)) = [2]unsafe.Pointer{}
		bc := reflect.New(baseT)
		bc.Elem().Set(reflect.NewAt(baseT, p).Elem())
		q := bc.UnsafePointer()
		if *(**goja.Object)(unsafe.Add(q, m.val)) != o {
			return nil, nil
		}
		*(**goja.Object)(unsafe.Add(q, m.val)) = nil
		*(*map[unistring.String]goja.Value)(unsafe.Add(q, m.values)) = nil
		*(*[]unistring.String)(unsafe.Add(q, m.propNames)) = nil
		return oc.Elem().Interface(), bc.Elem().Interface()
	}
	oa, ba := scrub(a, sa.UnsafePointer())
	ob, bb := scrub(b, sb.UnsafePointer())
	if oa == nil || ob == nil {
		return fmt.Errorf("baseObject.val does not point back to its object")
	}
	if !reflect.DeepEqual(oa, ob) {
		return fmt.Errorf("goja.Object differs from NewObject's: %+v, %+v", ob, oa)
	}
	if !reflect.DeepEqual(ba, bb) {
		return fmt.Errorf("baseObject differs from NewObject's: %+v, %+v", bb, ba)
	}
	return nil
}

func (m *plainObjectMaker) objectPrototype(r *goja.Runtime) *goja.Object {
	return *(**goja.Object)(unsafe.Add(unsafe.Pointer(r), m.rtProto))
}

// make returns a new, empty plain object of r (what r.NewObject returns)
// with room for n properties, and its property list and map to add them
// to.
func (m *plainObjectMaker) make(r *goja.Runtime, n int) (*goja.Object, *[]unistring.String, map[unistring.String]goja.Value) {
	k := n
	if k > maxInlineNames {
		k = 0 // the list is allocated on its own
	}
	p := reflect.New(m.blocks[k]).UnsafePointer()
	o := (*goja.Object)(p)
	b := unsafe.Add(p, m.base)
	*(**goja.Runtime)(unsafe.Add(p, m.objRuntime)) = r
	*(*[2]unsafe.Pointer)(unsafe.Add(p, m.objSelf)) = [2]unsafe.Pointer{m.selfTab, b}
	*(*string)(unsafe.Add(b, m.class)) = m.className
	*(**goja.Object)(unsafe.Add(b, m.val)) = o
	*(**goja.Object)(unsafe.Add(b, m.proto)) = m.objectPrototype(r)
	*(*bool)(unsafe.Add(b, m.extensible)) = true
	values := make(map[unistring.String]goja.Value)
	*(*map[unistring.String]goja.Value)(unsafe.Add(b, m.values)) = values
	names := (*[]unistring.String)(unsafe.Add(b, m.propNames))
	if n > maxInlineNames {
		*names = make([]unistring.String, 0, n)
	} else if n > 0 {
		*names = unsafe.Slice((*unistring.String)(unsafe.Add(p, m.names)), n)[:0]
	}
	return o, names, values
}
