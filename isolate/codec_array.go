package isolate

import (
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"
)

// Making the arrays of a decoded message in one allocation, as
// codec_object.go does for plain objects.
//
// Runtime.NewArray allocates a goja.Object, goja's arrayObject, its
// property map and list (which hold "length") and the element slice, and
// converts each element with ToValue. Here the object, the arrayObject,
// the one-name list and up to maxInlineElems elements are one block (a
// struct made once per size with reflect.StructOf); the decoder writes
// the elements straight into it. The fields set are the ones NewArray
// sets, located by name, and the first use compares an array made both
// ways on a scratch runtime field by field; if anything differs the
// decoder keeps using NewArray (TestCodec_ArrayMakerLayout fails loudly).
// The array prototype is read from the runtime and is nil until the
// runtime first needs it: until then the decoder uses NewArray, which
// makes it.
//
// Memory: the block holds what NewArray's blocks held, so the heap cost
// constants of package codec still describe it. An array that later grows
// past its inline elements moves them to a new slice and keeps the block.

// maxInlineElems is the largest element slice allocated with its array.
const maxInlineElems = 8

type arrayMaker struct {
	plain      *plainObjectMaker // offsets in baseObject
	selfTab    unsafe.Pointer
	baseObj    uintptr // offset of arrayObject.baseObject
	elems      uintptr // arrayObject.values
	length     uintptr // arrayObject.length
	objCount   uintptr // arrayObject.objCount
	lengthProp uintptr // arrayObject.lengthProp
	writable   uintptr // valueProperty.writable
	rtProto    uintptr // Runtime.global.ArrayPrototype
	className  string
	vpType     reflect.Type   // *goja.valueProperty
	lpTab      unsafe.Pointer // interface word of a *valueProperty as a goja.Value
	// blocks[n] is struct{O goja.Object; A arrayObject; N [1]unistring.String; V [n]goja.Value}.
	blocks [maxInlineElems + 1]reflect.Type
	a      uintptr
	names  uintptr
	values uintptr
}

var arrMaker = sync.OnceValues(probeArrayMaker)

var lengthName = unistring.String("length")

func probeArrayMaker() (*arrayMaker, error) {
	pm, err := plainMaker()
	if err != nil {
		return nil, err
	}
	m := &arrayMaker{plain: pm}
	r := goja.New()
	ref := r.NewArray(1, "x")
	self, err := selfOf(ref)
	if err != nil {
		return nil, err
	}
	arrT := self.Type().Elem()
	if arrT.Name() != "arrayObject" {
		return nil, fmt.Errorf("an array is a %s", self.Type())
	}
	bf, ok := arrT.FieldByName("baseObject")
	if !ok || !bf.Anonymous || bf.Type.Name() != "baseObject" {
		return nil, fmt.Errorf("arrayObject does not embed baseObject")
	}
	m.baseObj = bf.Offset
	// goja's valueProperty: the type of the "length" entry of an array's
	// property map.
	refBase := unsafe.Add(self.UnsafePointer(), m.baseObj)
	refLength := (*(*map[unistring.String]goja.Value)(unsafe.Add(refBase, pm.values)))[lengthName]
	m.vpType = reflect.TypeOf(refLength)
	if m.vpType == nil || m.vpType.Kind() != reflect.Pointer || m.vpType.Elem().Name() != "valueProperty" {
		return nil, fmt.Errorf("the length of an array is a %v, not a *valueProperty", m.vpType)
	}
	vpT := m.vpType.Elem()
	for _, f := range []struct {
		off  *uintptr
		t    reflect.Type
		name string
		want reflect.Type
	}{
		{&m.elems, arrT, "values", reflect.TypeOf([]goja.Value(nil))},
		{&m.length, arrT, "length", reflect.TypeOf(uint32(0))},
		{&m.objCount, arrT, "objCount", reflect.TypeOf(0)},
		{&m.lengthProp, arrT, "lengthProp", vpT},
		{&m.writable, vpT, "writable", reflect.TypeOf(false)},
	} {
		if *f.off, err = fieldOffset(f.t, f.name, f.want); err != nil {
			return nil, err
		}
	}
	g, _ := reflect.TypeOf(goja.Runtime{}).FieldByName("global")
	ap, err := fieldOffset(g.Type, "ArrayPrototype", reflect.TypeOf((*goja.Object)(nil)))
	if err != nil {
		return nil, err
	}
	m.rtProto = g.Offset + ap

	m.selfTab = (*[2]unsafe.Pointer)(unsafe.Add(unsafe.Pointer(ref), pm.objSelf))[0]
	m.className = *(*string)(unsafe.Add(refBase, pm.class))
	m.lpTab = (*[2]unsafe.Pointer)(unsafe.Pointer(&refLength))[0]
	if *(**goja.Object)(unsafe.Add(refBase, pm.proto)) != m.prototype(r) {
		return nil, fmt.Errorf("Runtime.global.ArrayPrototype is not the prototype of a new array")
	}
	objT := reflect.TypeOf(goja.Object{})
	for n := range m.blocks {
		m.blocks[n] = reflect.StructOf([]reflect.StructField{
			{Name: "O", Type: objT},
			{Name: "A", Type: arrT},
			{Name: "N", Type: reflect.ArrayOf(1, reflect.TypeOf(unistring.String("")))},
			{Name: "V", Type: reflect.ArrayOf(n, reflect.TypeOf((*goja.Value)(nil)).Elem())},
		})
	}
	m.a = m.blocks[0].Field(1).Offset
	m.names = m.blocks[0].Field(2).Offset
	m.values = m.blocks[0].Field(3).Offset

	// The proof: an array made here equals one NewArray made, field by
	// field, once its own identity is set aside.
	mine, elems, ok := m.make(r, 2)
	if !ok {
		return nil, fmt.Errorf("no array prototype after NewArray")
	}
	elems[0], elems[1] = r.ToValue(1), r.ToValue("x")
	if err := sameArray(ref, mine, arrT, m); err != nil {
		return nil, err
	}
	return m, nil
}

// sameArray compares a (from NewArray) and b (from m) in every field but
// their identity; the maps and lists are compared by content.
func sameArray(a, b *goja.Object, arrT reflect.Type, m *arrayMaker) error {
	sa, err := selfOf(a)
	if err != nil {
		return err
	}
	sb, err := selfOf(b)
	if err != nil {
		return err
	}
	if sa.Type() != sb.Type() {
		return fmt.Errorf("made a %s, NewArray makes a %s", sb.Type(), sa.Type())
	}
	objT := reflect.TypeOf(goja.Object{})
	scrub := func(o *goja.Object, p unsafe.Pointer) (any, any, error) {
		oc := reflect.New(objT)
		oc.Elem().Set(reflect.NewAt(objT, unsafe.Pointer(o)).Elem())
		*(*[2]unsafe.Pointer)(unsafe.Add(oc.UnsafePointer(), m.plain.objSelf)) = [2]unsafe.Pointer{}
		ac := reflect.New(arrT)
		ac.Elem().Set(reflect.NewAt(arrT, p).Elem())
		q := unsafe.Add(ac.UnsafePointer(), m.baseObj)
		if *(**goja.Object)(unsafe.Add(q, m.plain.val)) != o {
			return nil, nil, fmt.Errorf("baseObject.val does not point back to its array")
		}
		*(**goja.Object)(unsafe.Add(q, m.plain.val)) = nil
		// The map holds "length" as a pointer to the array's own
		// lengthProp: check that, then compare the rest by content.
		values := *(*map[unistring.String]goja.Value)(unsafe.Add(q, m.plain.values))
		lp, ok := values[lengthName]
		if !ok || len(values) != 1 || reflect.ValueOf(lp).UnsafePointer() != unsafe.Add(p, m.lengthProp) {
			return nil, nil, fmt.Errorf("the map of a new array is not {length: &lengthProp}")
		}
		*(*map[unistring.String]goja.Value)(unsafe.Add(q, m.plain.values)) = nil
		return oc.Elem().Interface(), ac.Elem().Interface(), nil
	}
	oa, aa, err := scrub(a, sa.UnsafePointer())
	if err != nil {
		return err
	}
	ob, ab, err := scrub(b, sb.UnsafePointer())
	if err != nil {
		return err
	}
	if !reflect.DeepEqual(oa, ob) {
		return fmt.Errorf("goja.Object differs from NewArray's: %+v, %+v", ob, oa)
	}
	if !reflect.DeepEqual(aa, ab) {
		return fmt.Errorf("arrayObject differs from NewArray's: %+v, %+v", ab, aa)
	}
	return nil
}

func (m *arrayMaker) prototype(r *goja.Runtime) *goja.Object {
	return *(**goja.Object)(unsafe.Add(unsafe.Pointer(r), m.rtProto))
}

// make returns a new array of r with n elements (what r.NewArray returns
// for n arguments) and its element slice to fill, every element of which
// the caller must set; ok is false if r has no array prototype yet.
func (m *arrayMaker) make(r *goja.Runtime, n int) (o *goja.Object, elems []goja.Value, ok bool) {
	proto := m.prototype(r)
	if proto == nil {
		return nil, nil, false
	}
	pm := m.plain
	k := n
	if k > maxInlineElems {
		k = 0 // the elements are allocated on their own
	}
	p := reflect.New(m.blocks[k]).UnsafePointer()
	o = (*goja.Object)(p)
	a := unsafe.Add(p, m.a)
	b := unsafe.Add(a, m.baseObj)
	*(**goja.Runtime)(unsafe.Add(p, pm.objRuntime)) = r
	*(*[2]unsafe.Pointer)(unsafe.Add(p, pm.objSelf)) = [2]unsafe.Pointer{m.selfTab, a}
	*(*string)(unsafe.Add(b, pm.class)) = m.className
	*(**goja.Object)(unsafe.Add(b, pm.val)) = o
	*(**goja.Object)(unsafe.Add(b, pm.proto)) = proto
	*(*bool)(unsafe.Add(b, pm.extensible)) = true
	lp := unsafe.Add(a, m.lengthProp)
	*(*bool)(unsafe.Add(lp, m.writable)) = true
	var lv goja.Value // &lengthProp
	*(*[2]unsafe.Pointer)(unsafe.Pointer(&lv)) = [2]unsafe.Pointer{m.lpTab, lp}
	*(*map[unistring.String]goja.Value)(unsafe.Add(b, pm.values)) = map[unistring.String]goja.Value{lengthName: lv}
	names := unsafe.Slice((*unistring.String)(unsafe.Add(p, m.names)), 1)
	names[0] = lengthName
	*(*[]unistring.String)(unsafe.Add(b, pm.propNames)) = names
	if n > maxInlineElems {
		elems = make([]goja.Value, n)
	} else if n > 0 {
		elems = unsafe.Slice((*goja.Value)(unsafe.Add(p, m.values)), n)
	}
	*(*[]goja.Value)(unsafe.Add(a, m.elems)) = elems
	*(*uint32)(unsafe.Add(a, m.length)) = uint32(n)
	*(*int)(unsafe.Add(a, m.objCount)) = n
	return o, elems, true
}

// arrayLen returns what o.Get("length") would, read from goja's array,
// when o is goja's ordinary (dense) array; ok is false otherwise. goja
// keeps the length property's value and this field equal.
func arrayLen(m *arrayMaker, o *goja.Object) (n int, ok bool) {
	if m == nil {
		return 0, false
	}
	w := (*[2]unsafe.Pointer)(unsafe.Add(unsafe.Pointer(o), m.plain.objSelf))
	if w[0] != m.selfTab {
		return 0, false
	}
	return int(*(*uint32)(unsafe.Add(w[1], m.length))), true
}

// arrayElem returns what o.Get of index i would, read from goja's element
// slice, when o is goja's ordinary (dense) array and element i is a plain
// value; nil otherwise (a hole, an accessor or other attributes, an index
// past the slice, another kind of array), and the caller asks Get. The
// slice is read afresh on every call: a getter may have changed it.
func arrayElem(m *arrayMaker, o *goja.Object, i int) goja.Value {
	if m == nil {
		return nil
	}
	w := (*[2]unsafe.Pointer)(unsafe.Add(unsafe.Pointer(o), m.plain.objSelf))
	if w[0] != m.selfTab {
		return nil
	}
	elems := *(*[]goja.Value)(unsafe.Add(w[1], m.elems))
	if i >= len(elems) {
		return nil
	}
	v := elems[i]
	if v == nil || reflect.TypeOf(v) == m.vpType {
		return nil
	}
	return v
}
