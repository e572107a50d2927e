package isolate

import (
	"sync"
	"unsafe"

	"github.com/dop251/goja"
)

// goja has no public way to make an integer Number but Runtime.ToValue,
// whose interface{} argument boxes the int64 once more before goja boxes
// it as a Value: two allocations for an integer of 256 or more, where
// goja's own instructions make one. intValue makes one. A goja.Value
// holding an integer is an interface whose type word is goja's integer
// type (the same for every integer) and whose data word points to the
// int64; intValue copies the type word from a Value ToValue made and
// points the data word at a fresh int64.

// maxSafeInt is the largest integer goja keeps as an integer; beyond it,
// ToValue makes a float.
const maxSafeInt = 1 << 53

// ifaceWords is the layout of a Go interface value.
type ifaceWords struct {
	tab  unsafe.Pointer
	data unsafe.Pointer
}

// intValueTab is the type word of goja's integer Values, or nil if the
// self-check found the layout other than expected (intValue then goes
// through ToValue).
var intValueTab = sync.OnceValue(func() unsafe.Pointer {
	r := goja.New()
	sample := r.ToValue(int64(1 << 20))
	tab := (*ifaceWords)(unsafe.Pointer(&sample)).tab
	for _, n := range []int64{256, 1000, 1 << 20, -1 << 40, maxSafeInt, -maxSafeInt} {
		want := r.ToValue(n)
		if (*ifaceWords)(unsafe.Pointer(&want)).tab != tab {
			return nil
		}
		got := makeIntValue(tab, n)
		if got.ExportType() != want.ExportType() || got.ToInteger() != n || !got.StrictEquals(want) || got.String() != want.String() {
			return nil
		}
	}
	return tab
})

func makeIntValue(tab unsafe.Pointer, n int64) goja.Value {
	p := new(int64)
	*p = n
	var v goja.Value
	*(*ifaceWords)(unsafe.Pointer(&v)) = ifaceWords{tab: tab, data: unsafe.Pointer(p)}
	return v
}

// intValue is r.ToValue(n) for an integer n, with one allocation at most.
func intValue(r *goja.Runtime, n int64) goja.Value {
	if n >= 0 && n < 256 || n < -maxSafeInt || n > maxSafeInt {
		return r.ToValue(n) // no allocation below 256; a float beyond 2^53
	}
	tab := intValueTab()
	if tab == nil {
		return r.ToValue(n)
	}
	return makeIntValue(tab, n)
}
