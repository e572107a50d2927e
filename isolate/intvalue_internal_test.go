package isolate

import (
	"math"
	"testing"

	"github.com/dop251/goja"
)

// TestIntValue_SameAsToValue fails loudly if goja's integer Values stop
// being what intValue makes (the self-check would then send every call
// through ToValue, silently slower).
func TestIntValue_SameAsToValue(t *testing.T) {
	if intValueTab() == nil {
		t.Fatal("the self-check refused the layout of goja's integer Values: intValue falls back to ToValue")
	}
	r := goja.New()
	check, err := r.RunString(`(function (a, b) { return a === b && typeof a === "number" && Object.is(a, b) && String(a) === String(b) && a + 1 === b + 1 })`)
	if err != nil {
		t.Fatal(err)
	}
	same, ok := goja.AssertFunction(check)
	if !ok {
		t.Fatal("no check function")
	}
	for _, n := range []int64{0, 1, 255, 256, 257, -1, -255, -256, -257, 1 << 31, -1 << 31, 1<<53 - 1, 1 << 53, -1 << 53, 1<<53 + 1, -1<<53 - 1, math.MaxInt64, math.MinInt64} {
		got, want := intValue(r, n), r.ToValue(n)
		if got.ExportType() != want.ExportType() {
			t.Errorf("%d: type %v, ToValue's %v", n, got.ExportType(), want.ExportType())
		}
		if got.Export() != want.Export() {
			t.Errorf("%d: exports %v, ToValue's %v", n, got.Export(), want.Export())
		}
		v, err := same(goja.Undefined(), got, want)
		if err != nil || !v.ToBoolean() {
			t.Errorf("%d: JS sees %v and %v as different (%v)", n, got, want, err)
		}
	}
	if a := testing.AllocsPerRun(100, func() { _ = intValue(r, 123456) }); a > 1 {
		t.Errorf("intValue allocates %v times, want 1", a)
	}
}
